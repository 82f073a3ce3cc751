/**
 * A gthread worker's app threads: boots them, gives each accepted connection to the least
 * loaded one, replaces a thread that stops heart-beating for longer than `timeout` (the rest
 * keep serving: only the stuck thread's connections are cut) or that dies, and stops them all.
 */
import type { Socket } from 'node:net';
import { errorTable, GtsError, gtsError, type AcceptedFd, type GtsErrorCode, type Logger, type NativeAddon } from '@gunicorn-ts/core';
import { AppThread, type AppThreadEvents } from './app-thread.js';
import type { MainToThread, ThreadBootData, ThreadToMain } from './messages.js';

export interface ThreadPoolOptions {
  readonly size: number;
  readonly boot: Omit<ThreadBootData, 'index' | 'shared'>;
  /** A thread silent for longer is terminated and replaced; 0 disables the check. */
  readonly timeoutMs: number;
  readonly log: Logger;
  /** Undefined when the addon is not built: connections arrive as sockets and are relayed. */
  readonly addon: NativeAddon | undefined;
  /** A thread started the last request max_requests allows (request-budget.ts). */
  onBudgetSpent(): void;
  /** Connections that ended (closed by a thread, or cut with a thread that died). */
  onConnectionsClosed(count: number): void;
  /** A thread became able to take a connection (booted, or answered a ping). */
  onCapacity(): void;
}

export interface ThreadPoolReady {
  readonly appFile: string;
  readonly description: string;
}

/** Wait this long before booting a replacement for a thread that failed to boot. */
const REBOOT_DELAY_MS = 1000;

export class ThreadPool {
  private readonly slots: Array<AppThread | undefined>;
  /** Connections accepted while no thread was ready (all replaced at once): served in order. */
  /** Responses finished by threads that were replaced (see requestsServed). */
  private servedByGoneThreads = 0;
  private readonly waiting: Array<{ readonly accepted: AcceptedFd; readonly listener: number } | { readonly socket: Socket; readonly listener: number }> = [];
  private stopping = false;
  private stopWaiters: Array<() => void> = [];
  private next = 0;
  private booted: ((ready: ThreadPoolReady) => void) | undefined;
  private bootFailed: ((err: Error) => void) | undefined;

  constructor(private readonly options: ThreadPoolOptions) {
    this.slots = new Array<AppThread | undefined>(options.size).fill(undefined);
  }

  /** Boot every thread; resolves when all serve, rejects with the first boot failure. */
  start(): Promise<ThreadPoolReady> {
    return new Promise((resolve, reject) => {
      this.booted = resolve;
      this.bootFailed = reject;
      for (let i = 0; i < this.options.size; i++) this.spawn(i);
    });
  }

  /** Responses every thread of this process has finished, replaced threads included. */
  requestsServed(): number {
    let served = this.servedByGoneThreads;
    for (const thread of this.slots) if (thread !== undefined) served += thread.shared.served();
    return served;
  }

  /** Give an accepted connection's fd to a thread (or hold it until one is ready). */
  dispatch(accepted: AcceptedFd, listener: number): void {
    const thread = this.pick();
    if (thread === undefined) this.waiting.push({ accepted, listener });
    else thread.give(accepted, listener);
  }

  /** Without the native addon: relay an accepted socket to a thread (or hold it). */
  dispatchSocket(socket: Socket, listener: number): void {
    const thread = this.pick();
    if (thread === undefined) this.waiting.push({ socket, listener });
    else thread.relay(socket, listener);
  }

  /**
   * Whether a new connection would be served at once: some ready thread is free (see
   * isFree). A thread whose loop is blocked by a CPU-bound handler cannot answer a ping, so
   * while every thread is blocked this is false and the process leaves new connections in the
   * kernel queue for a sibling process.
   */
  canTakeConnection(): boolean {
    const someBusy = this.anyBusy();
    return this.slots.some((t) => t !== undefined && t.state === 'ready' && isFree(t, someBusy));
  }

  /**
   * Whether some thread may become blocked without a word: it has a request in progress, or a
   * connection on which one may start (a connection's first request can come well after the
   * thread adopted it, and a keep-alive connection's next one at any time).
   */
  anyThreadInUse(): boolean {
    return this.slots.some((t) => t !== undefined && t.state === 'ready' && (t.connections > 0 || t.shared.activeRequests() > 0));
  }

  /** Ping every ready thread (once at a time each): any answer calls onCapacity. */
  probeBusyThreads(): void {
    for (const thread of this.slots) thread?.ping();
  }

  /**
   * The heartbeat check: terminate and replace threads silent for longer than the timeout.
   * While the process stops (TERM: HUP, TTOU, max_requests) a stuck thread is still ended,
   * not replaced, as the master holds a retiring process to timeout too.
   */
  checkHealth(now: number = Date.now()): void {
    if (this.options.timeoutMs <= 0) return;
    for (const thread of this.slots) {
      if (thread === undefined || thread.ending) continue;
      const silentMs = now - thread.shared.lastBeat();
      if (silentMs <= this.options.timeoutMs) continue;
      this.options.log.critical('THREAD TIMEOUT (pid:%s thread:%s): silent for %s ms; %s it', process.pid, thread.threadId, silentMs, this.stopping ? 'ending' : 'replacing');
      void this.replace(thread);
    }
  }

  /**
   * Tell every thread to stop, without waiting: graceful lets in-flight requests finish.
   * From here no thread is replaced. A quick stop after a graceful one cuts what is left.
   */
  requestStop(graceful: boolean): void {
    if (this.stopping && graceful) return;
    this.stopping = true;
    for (const entry of this.waiting.splice(0)) {
      if ('accepted' in entry) this.closeFd(entry.accepted.fd);
      else entry.socket.destroy();
    }
    for (const thread of this.slots) thread?.requestStop(graceful);
  }

  broadcast(message: MainToThread): void {
    for (const thread of this.slots) thread?.post(message);
  }

  /**
   * Stop every thread: ask each to stop (graceful: finish in-flight requests), wait for their
   * 'stopped' until `withinMs`, then terminate whatever is left.
   */
  async stop(graceful: boolean, withinMs: number): Promise<void> {
    this.requestStop(graceful);
    const live = () => this.slots.filter((t): t is AppThread => t !== undefined && t.state !== 'gone');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, withinMs);
      const check = () => {
        if (live().every((t) => this.stoppedThreads.has(t))) {
          clearTimeout(timer);
          resolve();
        }
      };
      this.stopWaiters.push(check);
      check();
    });
    await Promise.all(live().map((t) => t.terminate()));
  }

  // ---------------------------------------------------------------- internals

  private readonly stoppedThreads = new WeakSet<AppThread>();

  private readonly events: AppThreadEvents = {
    ready: (thread, message: Extract<ThreadToMain, { type: 'ready' }>) => {
      this.options.log.debug('App thread %s ready (pid:%s thread:%s)', thread.index, process.pid, thread.threadId);
      this.flushWaiting();
      this.options.onCapacity();
      if (this.booted !== undefined && this.slots.every((t) => t?.state === 'ready')) {
        const resolve = this.booted;
        this.booted = undefined;
        this.bootFailed = undefined;
        resolve({ appFile: message.appFile, description: message.description });
      }
    },
    bootFailed: (thread, message) => {
      if (this.bootFailed !== undefined) {
        // The first boot: the process fails as a worker whose app cannot load would.
        const reject = this.bootFailed;
        this.booted = undefined;
        this.bootFailed = undefined;
        void this.stop(false, 0);
        reject(bootError(message.message, message.code));
        return;
      }
      this.options.log.error('App thread %s failed to boot: %s', thread.index, message.message);
      void thread.terminate().then(() => setTimeout(() => this.respawn(thread), REBOOT_DELAY_MS));
    },
    report: (_thread, closed) => {
      if (closed > 0) this.options.onConnectionsClosed(closed);
    },
    pong: () => this.options.onCapacity(),
    budgetSpent: () => this.options.onBudgetSpent(),
    stopped: (thread) => {
      this.stoppedThreads.add(thread);
      for (const check of this.stopWaiters) check();
    },
    exited: (thread, reason) => {
      this.options.log.error('App thread %s (thread:%s) exited: %s', thread.index, thread.threadId, reason);
      this.respawn(thread);
    },
  };

  private spawn(index: number): void {
    this.slots[index] = new AppThread(index, this.options.boot, this.events, this.options.addon);
  }

  /** Terminate a (stuck) thread and start another in its slot. */
  private async replace(thread: AppThread): Promise<void> {
    await thread.terminate();
    this.respawn(thread);
  }

  /** After a thread is gone: account for its connections and start a successor. */
  private respawn(thread: AppThread): void {
    const lost = thread.takeLostConnections();
    if (lost > 0) this.options.onConnectionsClosed(lost);
    if (this.stopping || this.slots[thread.index] !== thread) return;
    // Its successor takes the slot: what it served is counted from here.
    this.servedByGoneThreads += thread.shared.served();
    this.spawn(thread.index);
  }

  /**
   * The thread for a new connection: among ready threads, one free to run it now (see
   * isFree), then the one with the fewest connections; ties rotate so equal threads share
   * the load.
   */
  private pick(): AppThread | undefined {
    let best: AppThread | undefined;
    let bestScore = Infinity;
    const someBusy = this.anyBusy();
    const n = this.slots.length;
    for (let k = 0; k < n; k++) {
      const thread = this.slots[(this.next + k) % n];
      if (thread === undefined || thread.state !== 'ready') continue;
      const score = (isFree(thread, someBusy) ? 0 : 1_000_000) + thread.connections;
      if (score < bestScore) {
        best = thread;
        bestScore = score;
      }
    }
    this.next = (this.next + 1) % n;
    return best;
  }

  /** Whether some ready thread is busy (see isBusy). */
  private anyBusy(): boolean {
    return this.slots.some((t) => t !== undefined && t.state === 'ready' && isBusy(t));
  }

  private flushWaiting(): void {
    while (this.waiting.length > 0) {
      const thread = this.pick();
      if (thread === undefined) return;
      const entry = this.waiting.shift()!;
      if ('accepted' in entry) thread.give(entry.accepted, entry.listener);
      else if (!entry.socket.destroyed) thread.relay(entry.socket, entry.listener);
    }
  }

  private closeFd(fd: number): void {
    try {
      this.options.addon?.closeFd(fd);
    } catch {
      // Already closed.
    }
    this.options.onConnectionsClosed(1);
  }
}

/**
 * The thread's boot error as this process's: the same GtsError code (so the process exits 4
 * when the app cannot be loaded, 3 for other boot failures, as a sync worker would) and message.
 */
function bootError(message: string, code: string | undefined): Error {
  if (code === undefined || !(code in errorTable)) return gtsError('GTS_ERR_WORKER_BOOT', message);
  const err = new GtsError(code as GtsErrorCode, []);
  err.message = message;
  return err;
}

/**
 * A request is in progress on the thread and it is not proven free: it has not answered a ping
 * since it was last given a connection or last started a request. A thread whose requests only
 * wait on I/O (a long poll, a slow upstream) answers within two turns of its loop, and so is
 * not busy.
 */
function isBusy(thread: AppThread): boolean {
  return !thread.provenFree && thread.shared.activeRequests() > 0;
}

/**
 * Whether a connection given to the thread now would be served at once: it is not busy, and,
 * while some thread is busy, it has no fd still on its way to it.
 *
 * An fd on its way is a request about to start that the thread's counter does not show yet.
 * Without this, a burst of connections accepted while one thread ran a CPU-bound request all
 * went to the thread that merely looked free; keep-alive connections never change thread, so
 * the other one then stayed idle for as long as the clients kept them (`--threads 2` served
 * at the rate of one thread, in about one wrk run out of two). Now the process takes one
 * connection per free thread and waits for the next pong, which a thread sends only after the
 * first request of what it adopted (see thread-main.ts), so connections go to the threads as
 * they actually come free. When no thread is busy there is nothing to wait for: under
 * `Connection: close` load the fds flow without a round trip per connection.
 */
function isFree(thread: AppThread, someBusy: boolean): boolean {
  return !isBusy(thread) && (thread.queued === 0 || !someBusy);
}
