/**
 * Runs a conformance suite once per target kind: `describeEachTarget('framing', (targets) =>
 * ...)` declares `<kind>: framing` for in-process, sync, evented and gthread (or the kinds in
 * GTS_HTTP_TARGETS). Each declaration gets its own TargetPool: one server per distinct set of
 * options, started when a case first asks for it, shared by the following cases and stopped
 * when the declaration ends, so a CLI kind costs a few processes per file, not one per case.
 */
import { after, describe } from 'node:test';
import { selectedTargetKinds, type TargetKind } from './target-kinds.js';
import type { Target, TargetOptions } from './target.js';

export class TargetPool {
  private readonly targets = new Map<string, Promise<Target>>();

  constructor(readonly kind: TargetKind) {}

  /** The shared target with these options (the defaults when none), ready to serve. */
  async get(options: TargetOptions = {}): Promise<Target> {
    const key = this.kind.key(options);
    let started = this.targets.get(key);
    if (started === undefined) {
      started = this.kind.start(options);
      this.targets.set(key, started);
    }
    const target = await started;
    await target.ready();
    return target;
  }

  async stopAll(): Promise<void> {
    const started = [...this.targets.values()];
    this.targets.clear();
    const targets = await Promise.allSettled(started);
    await Promise.all(targets.map((result) => (result.status === 'fulfilled' ? result.value.stop() : undefined)));
  }
}

/**
 * The kinds run side by side (their servers are separate, and most of a suite's time is spent
 * waiting on timeouts), each kind's cases one at a time: cases share a server, and some
 * observe its state (GET /count, the sync worker's single connection).
 */
export function describeEachTarget(title: string, body: (targets: TargetPool) => void): void {
  describe(title, { concurrency: true }, () => {
    for (const kind of selectedTargetKinds()) {
      describe(`${kind.name}: ${title}`, { concurrency: 1 }, () => {
        const pool = new TargetPool(kind);
        after(() => pool.stopAll());
        body(pool);
      });
    }
  });
}
