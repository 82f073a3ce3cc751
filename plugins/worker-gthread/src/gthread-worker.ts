/**
 * The gthread worker: each worker process runs the app on `threads` node:worker_threads, so
 * CPU-bound handlers run in parallel inside one process, with keep-alive connections.
 *
 * The main thread never loads the app. It accepts (through the core's native acceptor, which
 * yields raw fds), hands each connection's fd to the least loaded app thread, and stays free:
 * the process heartbeat comes from here, so the master never kills the process for one stuck
 * thread. Each thread beats into shared memory instead; a thread silent for longer than
 * `timeout` is terminated (which stops even a `while (true) {}`) and replaced, and only its
 * own connections are cut. Without the native addon, the main thread keeps each socket and
 * relays its bytes to the thread instead (slower; see socket-relay.ts). See docs/gthread.md for
 * the design and its measurements.
 */
import {
  inject,
  injectable,
  nativeAddon,
  TOKENS,
  Worker,
  type Accepted,
  type ListenerInfo,
  type NativeAddon,
  type SettingValues,
  type WorkerContext,
} from '@gunicorn-ts/core';
import { RequestBudget } from './request-budget.js';
import { ThreadPool } from './thread-pool.js';

/**
 * While accepting with connections open, look at the threads again this often: a thread that
 * starts a CPU-bound request says nothing, and until the next look the process may still take
 * a connection that a sibling process could serve at once.
 */
const BUSY_RECHECK_MS = 5;

/** A graceful stop leaves the threads this long, after the drain, to run their shutdown hooks. */
const THREAD_SHUTDOWN_MS = 1000;

@injectable()
export class GthreadWorker extends Worker {
  static readonly meta = { name: 'gthread' };

  /**
   * Every app thread is a V8 isolate with its own young generation, so the process holds
   * threads + 1 of them. With 2 MB semi-spaces instead of 8, a `-w 2 --threads 2` worker
   * peaked at 146 instead of 176 MB under `Connection: close` load (102 instead of 113 MB
   * keep-alive), at the same req/s on the hello-world and a JSON-building app (interleaved
   * runs, docs/gthread.md). Single-isolate classes keep 8: there, 2 cost 5-8 %. Old
   * generations grow 50 % past their live data, not up to 4 times: 113-115 instead of 146-150 MB
   * under `Connection: close` load, at the same req/s.
   */
  static override readonly settingDefaults: Readonly<Partial<SettingValues>> = { worker_semi_space: 2, worker_heap_growth: 50 };

  private pool: ThreadPool | undefined;
  private addon: NativeAddon | undefined;
  /** max_requests across the threads (request-budget.ts). */
  private budget: RequestBudget | undefined;
  private recheck: NodeJS.Timeout | undefined;

  constructor(@inject(TOKENS.WorkerContext) context: WorkerContext) {
    super(context);
  }

  /** The app is loaded by every app thread, not here: boot the pool instead. */
  protected override async loadApp(): Promise<void> {
    this.addon = nativeAddon();
    if (this.addon === undefined) {
      this.log.warning('gthread: the native accept addon is not available; relaying connections to the app threads through the main thread, which is slower');
    }
    const spec = this.settings.get('app');
    if (spec === null) throw new Error('No application module specified');
    this.pool = new ThreadPool({
      size: this.settings.get('threads'),
      boot: {
        age: this.age,
        ppid: this.ppid,
        settings: this.settings.serialize(),
        listeners: this.listeners,
        protocolOptions: this.protocolOptions(),
        heartbeatMs: this.context.heartbeatMs,
        budget: (this.budget = RequestBudget.of(this.maxRequests)).buffer,
      },
      timeoutMs: this.settings.get('timeout') * 1000,
      log: this.log,
      addon: this.addon,
      // Before the response that says close reaches its client, which would reconnect here.
      onBudgetSpent: () => this.retire(),
      onConnectionsClosed: (count) => {
        this.activeConnections -= count;
        this.updateAccepting();
      },
      onCapacity: () => this.updateAccepting(),
    });
    const ready = await this.pool.start();
    this.app = runsInThreads;
    this.appInfo = { listener: runsInThreads, kind: 'request-listener', description: ready.description, file: ready.appFile };
    this.log.info('Serving %s on %s threads', ready.description, this.settings.get('threads'));
  }

  run(): void {
    this.startAccepting();
  }

  /** Gunicorn's gthread: worker_connections is the most connections a process holds at once. */
  protected connectionLimit(): number {
    return this.settings.get('worker_connections');
  }

  protected override onAccepted(accepted: Accepted, listener: ListenerInfo): void {
    const pool = this.pool;
    if (!this.alive || pool === undefined) {
      if (accepted.fd === undefined) accepted.socket.destroy();
      else this.addon?.closeFd(accepted.fd);
      return;
    }
    const index = this.listeners.indexOf(listener);
    this.activeConnections += 1;
    this.balanceAfterAccept();
    if (accepted.fd !== undefined) {
      pool.dispatch(accepted, index);
    } else {
      // The fallback acceptor's socket stays here, relayed: its close is seen here too.
      accepted.socket.once('close', () => {
        this.activeConnections -= 1;
        this.updateAccepting();
      });
      pool.dispatchSocket(accepted.socket, index);
    }
    this.updateAccepting();
    // The thread has not started the request yet: look again once it may have.
    this.scheduleRecheck();
  }

  /**
   * Ready while under the connection limit and while some thread can start on a new connection
   * at once. When every thread is busy, new connections wait in the kernel queue for a sibling
   * process, and the threads are pinged: the first whose event loop is free (its requests only
   * wait on I/O) answers, and accepting resumes. A thread's report of closed connections, or a
   * new thread, resumes it too.
   */
  protected override readyForConnection(): boolean {
    const pool = this.pool;
    const room = pool !== undefined && super.readyForConnection();
    const ready = room && pool.canTakeConnection();
    // Pings are spaced (AppThread.ping): look again to send the ones held back.
    if (room && !ready) pool.probeBusyThreads();
    if (room && (!ready || pool.anyThreadInUse())) this.scheduleRecheck();
    return ready;
  }

  private scheduleRecheck(): void {
    if (this.recheck !== undefined) return;
    this.recheck = setTimeout(() => {
      this.recheck = undefined;
      this.updateAccepting();
    }, BUSY_RECHECK_MS);
    this.recheck.unref();
  }

  /** The process heartbeat also checks each thread's. */
  override notify(): void {
    super.notify();
    this.pool?.checkHealth();
  }

  /**
   * The threads send no message per request (see ThreadServer). With max_requests, requests
   * count as they start, as in a worker process (the budget's count); without, the responses
   * the threads' shared counters show.
   */
  override get requestCount(): number {
    if (this.maxRequests !== Infinity && this.budget !== undefined) return this.budget.started();
    return this.pool !== undefined ? this.pool.requestsServed() : super.requestCount;
  }

  protected override initSignals(): void {
    super.initSignals();
    // The base reopens this thread's logs; each app thread has its own.
    process.on('SIGUSR1', () => this.pool?.broadcast({ type: 'reopen' }));
  }

  /** TERM: the threads drain their connections; the base waits for them up to graceful_timeout. */
  protected override async gracefulStop(): Promise<void> {
    this.pool?.requestStop(true);
    return super.gracefulStop();
  }

  /** Before the process goes: every thread stops (runs its shutdown hooks, flushes its logs). */
  protected override async exit(code: number, withinMs = 1000): Promise<void> {
    await this.pool?.stop(false, Math.min(withinMs / 2, THREAD_SHUTDOWN_MS));
    return super.exit(code, withinMs);
  }

  override toString(): string {
    return `<GthreadWorker ${this.pid}>`;
  }
}

/** The main thread's stand-in for the app, which only the app threads load. */
function runsInThreads(): never {
  throw new Error('gthread: the app runs in the app threads, not in the main thread');
}
