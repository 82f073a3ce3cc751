/**
 * Gunicorn's SIG_QUEUE: signal handlers only record the signal; the arbiter's loop takes them
 * out in order and acts. Other events (a worker exited, became ready, asked to retire) only
 * wake the loop, so all process policy runs in one place, one step at a time.
 */
export type MasterSignal = 'SIGHUP' | 'SIGQUIT' | 'SIGINT' | 'SIGTERM' | 'SIGTTIN' | 'SIGTTOU' | 'SIGUSR1' | 'SIGUSR2' | 'SIGWINCH';

export const MASTER_SIGNALS: readonly MasterSignal[] = ['SIGHUP', 'SIGQUIT', 'SIGINT', 'SIGTERM', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export class SignalQueue {
  private readonly pending: MasterSignal[] = [];
  private wake: (() => void) | undefined;
  private readonly handlers = new Map<MasterSignal, () => void>();

  /** Route the master signals here. The handler does nothing but queue. */
  install(): void {
    for (const signal of MASTER_SIGNALS) {
      const handler = (): void => this.push(signal);
      this.handlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  uninstall(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
    this.handlers.clear();
  }

  push(signal: MasterSignal): void {
    this.pending.push(signal);
    this.wakeup();
  }

  /** Make a waiting `wait()` return now (Gunicorn's WAKEUP_REQUEST). */
  wakeup(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Take one queued signal without waiting. */
  take(): MasterSignal | undefined {
    return this.pending.shift();
  }

  /** Wait until a signal or a wakeup arrives, or `timeoutMs` passes; return the queued signals. */
  async wait(timeoutMs: number): Promise<MasterSignal[]> {
    if (this.pending.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = undefined;
          resolve();
        }, Math.max(0, timeoutMs));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.pending.splice(0);
  }
}
