/**
 * Node flags a worker process is started with, from the settings. worker_threads share their
 * process's V8 flags, so gthread's app threads get them too.
 */
import type { Settings } from '../settings/settings.js';

const SEMI_SPACE_FLAG = '--max-semi-space-size';

/** The user's own choice (the master's node flags or NODE_OPTIONS) wins over the setting. */
function semiSpaceSetByUser(): boolean {
  const flags = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)];
  return flags.some((flag) => flag === SEMI_SPACE_FLAG || flag.startsWith(`${SEMI_SPACE_FLAG}=`));
}

export function workerNodeFlags(settings: Settings): string[] {
  const semiSpaceMb = settings.get('worker_semi_space');
  return semiSpaceMb > 0 && !semiSpaceSetByUser() ? [`${SEMI_SPACE_FLAG}=${semiSpaceMb}`] : [];
}
