/**
 * Node flags a worker process is started with, from the settings. worker_threads share their
 * process's V8 flags, so gthread's app threads get them too.
 */
import type { Settings } from '../settings/settings.js';

const SEMI_SPACE_FLAG = '--max-semi-space-size';
const HEAP_GROWTH_FLAG = '--heap-growing-percent';

/** Whether this process was started with `flag` (alone or as `flag=value`), on its command line or in NODE_OPTIONS. */
export function nodeFlagGiven(flag: string): boolean {
  const flags = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)];
  return flags.some((given) => given === flag || given.startsWith(`${flag}=`));
}

export function workerNodeFlags(settings: Settings): string[] {
  const flags: string[] = [];
  // The user's own choice (the master's node flags or NODE_OPTIONS) wins over the settings.
  const semiSpaceMb = settings.get('worker_semi_space');
  if (semiSpaceMb > 0 && !nodeFlagGiven(SEMI_SPACE_FLAG)) flags.push(`${SEMI_SPACE_FLAG}=${semiSpaceMb}`);
  const heapGrowth = settings.get('worker_heap_growth');
  if (heapGrowth > 0 && !nodeFlagGiven(HEAP_GROWTH_FLAG)) flags.push(`${HEAP_GROWTH_FLAG}=${heapGrowth}`);
  return flags;
}
