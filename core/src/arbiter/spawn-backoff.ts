/**
 * Workers that die before they are ready (a spawn that fails, a crash while booting) would be
 * respawned by every turn of the loop, each failure waking it at once: a master spinning a
 * core and flooding its log. The first such death is retried at once; each further one in a
 * row doubles the wait before the next spawn, from 100 ms up to 5 s (pm2's
 * exp-backoff-restart-delay does the same). A worker that becomes ready resets it.
 */
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 5000;

export class SpawnBackoff {
  private failures = 0;
  private notBefore = 0;

  /** A worker died before it was ready; returns the wait before the next spawn (ms). */
  failed(now: number): number {
    this.failures += 1;
    const delay = this.failures < 2 ? 0 : Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (this.failures - 2));
    this.notBefore = now + delay;
    return delay;
  }

  /** A worker became ready. */
  succeeded(): void {
    this.failures = 0;
    this.notBefore = 0;
  }

  /** How long spawning must still wait; 0 when it may spawn now. */
  waitMs(now: number): number {
    return Math.max(0, this.notBefore - now);
  }
}
