/**
 * What an app thread tells its process without a message: one SharedArrayBuffer per thread
 * that the main thread reads on each accept and each heartbeat. A postMessage per request
 * would cost a turn of both event loops; an Atomics store costs nanoseconds.
 *
 * Layout: BigInt64 [0] last heartbeat (ms since the epoch), BigInt64 [1] the sequence number
 * of the last connection fd the thread adopted; Int32 [4] requests in progress, Int32 [5]
 * requests served, Int32 [6] requests started.
 */
const BYTES = 28;
const BEAT = 0;
const ADOPTED = 1;
const ACTIVE_REQUESTS = 0;
const SERVED = 1;
const STARTED = 2;

export class ThreadSharedState {
  private readonly words: BigInt64Array;
  private readonly counters: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(BYTES)) {
    this.words = new BigInt64Array(buffer, 0, 2);
    this.counters = new Int32Array(buffer, 16, 3);
  }

  /** Thread: its event loop turned just now. */
  beat(now: number = Date.now()): void {
    Atomics.store(this.words, BEAT, BigInt(now));
  }

  /** Main: when the thread's loop last turned (0 before its first beat). */
  lastBeat(): number {
    return Number(Atomics.load(this.words, BEAT));
  }

  /** Thread: it took ownership of the connection fd numbered `seq` (set before wrapping it). */
  adopted(seq: number): void {
    Atomics.store(this.words, ADOPTED, BigInt(seq));
  }

  /** Main: the highest sequence number the thread took; later fds are still main's to close. */
  lastAdopted(): number {
    return Number(Atomics.load(this.words, ADOPTED));
  }

  requestStarted(): void {
    Atomics.add(this.counters, ACTIVE_REQUESTS, 1);
    Atomics.add(this.counters, STARTED, 1);
  }

  /** Requests the thread has started since it started (wraps past 2^31; only compared for equality). */
  started(): number {
    return Atomics.load(this.counters, STARTED);
  }

  requestFinished(): void {
    Atomics.sub(this.counters, ACTIVE_REQUESTS, 1);
  }

  /** Thread: one more response finished. */
  requestServed(): void {
    Atomics.add(this.counters, SERVED, 1);
  }

  /** Main: responses the thread has finished since it started. */
  served(): number {
    return Atomics.load(this.counters, SERVED);
  }

  /** Main: requests the thread is running now (a thread at 0 can take a new connection at once). */
  activeRequests(): number {
    return Atomics.load(this.counters, ACTIVE_REQUESTS);
  }
}
