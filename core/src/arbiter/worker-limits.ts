/**
 * How long a worker may stay silent or unready before the master treats it as hung, from the
 * `timeout` setting. Shared by the master's loop and the `-D` launcher, which waits no longer
 * than a worker's boot may take.
 */
import type { Settings } from '../settings/settings.js';

/**
 * A booting worker heart-beats (loading modules yields to the loop), but its boot is bounded
 * all the same, by `timeout` as in Gunicorn (whose worker cannot notify before it runs), never
 * less than this: starting a Node process and loading its modules takes time a fork does not.
 */
const BOOT_LIMIT_FLOOR_MS = 5000;

/** How often workers heart-beat: a quarter of `timeout`, between 50 ms and 1 s. */
export function heartbeatMs(settings: Settings): number {
  const timeoutMs = settings.get('timeout') * 1000;
  return timeoutMs > 0 ? Math.max(50, Math.min(1000, Math.floor(timeoutMs / 4))) : 1000;
}

/**
 * Silence that means a worker is stuck: `timeout` plus one heartbeat period, so a worker is
 * only killed once its loop has been blocked for at least `timeout` (the last beat may have
 * come up to one period before the block began), and at most timeout + 1 s after. 0: no check.
 */
export function silenceLimitMs(settings: Settings): number {
  const timeoutMs = settings.get('timeout') * 1000;
  return timeoutMs > 0 ? timeoutMs + heartbeatMs(settings) : 0;
}

/** How long a worker may take to become ready (0: unbounded, as `timeout 0` disables the check). */
export function bootLimitMs(settings: Settings): number {
  const silenceMs = silenceLimitMs(settings);
  return silenceMs > 0 ? Math.max(silenceMs, BOOT_LIMIT_FLOOR_MS) : 0;
}
