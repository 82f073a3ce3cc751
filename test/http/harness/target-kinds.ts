/**
 * The servers every conformance suite runs against:
 * - `in-process`: HttpConnection in the test process (in-process-target.ts);
 * - `sync`, `evented`, `gthread`: the real CLI, `gunicorn-ts -w 1 -k <class>` (cli-target.ts).
 *
 * GTS_HTTP_TARGETS=in-process,evented (comma separated) runs the suites on some kinds only.
 */
import { cliTargetKey, startCliTarget, type WorkerClassName } from './cli-target.js';
import { startInProcessTarget } from './in-process-target.js';
import type { Target, TargetOptions } from './target.js';

export interface TargetKind {
  readonly name: string;
  /** Options with equal keys give the same server, which a suite may then share. */
  key(options: TargetOptions): string;
  start(options: TargetOptions): Promise<Target>;
}

function cliKind(workerClass: WorkerClassName): TargetKind {
  return { name: workerClass, key: (options) => cliTargetKey(workerClass, options), start: (options) => startCliTarget(workerClass, options) };
}

export const TARGET_KINDS: readonly TargetKind[] = [
  { name: 'in-process', key: (options) => JSON.stringify(options), start: startInProcessTarget },
  cliKind('sync'),
  cliKind('evented'),
  cliKind('gthread'),
];

/** The kinds named by GTS_HTTP_TARGETS, or all of them. */
export function selectedTargetKinds(): TargetKind[] {
  const wanted = process.env['GTS_HTTP_TARGETS'];
  if (wanted === undefined || wanted.trim() === '') return [...TARGET_KINDS];
  const names = wanted.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !TARGET_KINDS.some((kind) => kind.name === name));
  if (unknown.length > 0) throw new Error(`GTS_HTTP_TARGETS: unknown target ${unknown.join(', ')} (known: ${TARGET_KINDS.map((k) => k.name).join(', ')})`);
  return TARGET_KINDS.filter((kind) => names.includes(kind.name));
}
