/**
 * max_requests across a gthread process's app threads: one count of requests started, shared
 * by every thread. The thread that starts the last allowed request knows at once, so that
 * request's response already says `Connection: close` and no keep-alive client gets another
 * one in. Going through the main thread instead (a report, then a stop message back) takes
 * turns of two event loops, in which a fast keep-alive client was served several more.
 *
 * Layout: Int32 [0] requests started, Int32 [1] the limit (0: none).
 */
const STARTED = 0;
const LIMIT = 1;

export class RequestBudget {
  private readonly words: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.words = new Int32Array(buffer);
  }

  /** Main: a budget of `limit` requests (Infinity: unlimited), jitter already applied. */
  static of(limit: number): RequestBudget {
    const budget = new RequestBudget();
    Atomics.store(budget.words, LIMIT, Number.isFinite(limit) ? Math.min(Math.max(1, limit), 0x7fffffff) : 0);
    return budget;
  }

  /** Requests started so far, by every thread. */
  started(): number {
    return Atomics.load(this.words, STARTED);
  }

  /** Thread: a request starts. True once the budget is spent: this request is the last (or past it). */
  take(): boolean {
    const limit = Atomics.load(this.words, LIMIT);
    if (limit === 0) return false;
    return Atomics.add(this.words, STARTED, 1) + 1 >= limit;
  }
}
