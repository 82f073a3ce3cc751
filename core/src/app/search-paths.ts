import { resolve } from 'node:path';
import type { Settings } from '../settings/settings.js';

/** Where app and plugin package names are looked up: pythonpath dirs first, then chdir. */
export function appSearchPaths(settings: Settings): string[] {
  const cwd = settings.get('chdir');
  return [...settings.get('pythonpath').map((dir) => resolve(cwd, dir)), cwd];
}
