/**
 * Node flags a worker process is started with, from the settings. worker_threads share their
 * process's V8 flags, so gthread's app threads get them too.
 */
import type { Settings } from '../settings/settings.js';

/** Whether this process was started with `flag` (alone or as `flag=value`), on its command line or in NODE_OPTIONS. */
export function nodeFlagGiven(flag: string): boolean {
  const flags = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)];
  return flags.some((given) => given === flag || given.startsWith(`${flag}=`));
}

/** Settings that become a V8 flag of the worker process; 0 leaves the flag out (V8 decides). */
const FLAG_SETTINGS = [
  ['worker_semi_space', '--max-semi-space-size'],
  ['worker_heap_growth', '--heap-growing-percent'],
] as const;

export function workerNodeFlags(settings: Settings): string[] {
  const flags: string[] = [];
  for (const [name, flag] of FLAG_SETTINGS) {
    const value = settings.get(name);
    // The user's own choice (the master's node flags or NODE_OPTIONS) wins over the setting.
    if (value > 0 && !nodeFlagGiven(flag)) flags.push(`${flag}=${value}`);
  }
  return flags;
}
