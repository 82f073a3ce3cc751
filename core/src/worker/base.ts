/**
 * The worker base class, after Gunicorn's workers/base.py. The contract is short:
 * - the constructor stores its WorkerContext and does nothing else;
 * - initProcess() makes the process a worker (privileges, signals, heartbeat, plugins, the
 *   app, post_worker_init) and then calls run(); a subclass that overrides it calls
 *   super.initProcess() last;
 * - run() starts serving and returns once the worker accepts (Node is event driven: there is
 *   no loop to stay in, unlike Gunicorn's run()); the worker is ready only then, and one not
 *   ready within the boot bound (max(timeout, 5 s)) is killed as hung;
 * - notify() is the heartbeat; the base calls it on a timer, which stops when the event loop
 *   is blocked, so the master sees a blocked worker as silent.
 *
 * Shared by every class: accepting with a connection limit (stop accepting at capacity, so
 * busy workers leave connections in the kernel queue), the connection pipeline (raw socket →
 * `connection` hook → TLS → HttpConnection), HttpProtocolOptions from the settings, request
 * counting for max_requests, the pre/post_request hooks and the access log, and the worker
 * signals: QUIT/INT quick, TERM graceful, USR1 reopen logs, ABRT worker_abort.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { inject, TOKENS, type DependencyContainer } from '../container.js';
import type { ConnectionContext, WorkerApi, WorkerHooks } from '../hooks/hooks.js';
import { defaultPreRequest, tapWorkerConfigHooks } from '../hooks/config-hooks.js';
import type { Logger } from '../logging/logger.js';
import type { Settings } from '../settings/settings.js';
import type { SettingValues } from '../settings/definitions.js';
import { applyPlugins } from '../plugins/load-plugins.js';
import { CORE_VERSION } from '../plugins/resolver.js';
import { loadApp, type LoadedApp } from '../app/load-app.js';
import { appSearchPaths } from '../app/search-paths.js';
import type { NodeRequestListener } from '../app/fetch-adapter.js';
import type { ListenerInfo, WorkerToMaster } from '../arbiter/messages.js';
import type { AccessLogInfo } from '../http/access-log.js';
import type { HttpCallbacks, HttpProtocolOptions } from '../http/options.js';
import { HttpConnection, type HttpSocket } from '../http/connection.js';
import { wrapTlsSocket, type TlsServerContext } from '../http/tls.js';
import { tlsContextFromSettings } from './tls-settings.js';

import { acceptedSocket, createAcceptor, type Accepted, type Acceptor } from './acceptor.js';
import type { WorkerContext } from './context.js';
import { LoadBoard } from './load-board.js';
import { nativeAddon } from './native.js';
import { corkUntilShutdown } from './response-cork.js';

/** The longest timer Node allows: what a setting of 0 ("no deadline") becomes. */
const NEVER_MS = 2_147_483_647;

function secondsOrNever(seconds: number): number {
  return seconds > 0 ? seconds * 1000 : NEVER_MS;
}

/** QUIT/INT: worker_int runs, then the process is gone this soon (Gunicorn sleeps 0.1 s). */
const QUICK_EXIT_MS = 100;
/**
 * After a QUIT or INT, how long JavaScript has to run worker_int and exit before the addon's
 * watchdog ends the process (its event loop must be blocked).
 */
const BLOCKED_QUIT_GRACE_MS = 1000;

/**
 * After taking a connection while ahead of a sibling, stop accepting this long, so that
 * the sibling (woken by the same connection burst) takes the next one. Long enough for an idle
 * sibling to get scheduled; short enough that a busy or stuck one delays nobody much.
 */
const BALANCE_PAUSE_MS = 1;

export abstract class Worker implements WorkerApi {
  /**
   * Defaults of this class's own for settings the user did not set (see
   * plugins/worker-class.ts); the master applies them and its workers get them with the
   * settings.
   */
  static readonly settingDefaults?: Readonly<Partial<SettingValues>>;

  readonly pid = process.pid;
  readonly ppid: number;
  readonly age: number;
  readonly settings: Settings;
  readonly log: Logger;
  readonly hooks: WorkerHooks;
  readonly container: DependencyContainer;
  readonly listeners: readonly ListenerInfo[];
  /** max_requests plus this worker's jitter; Infinity when max_requests is 0. */
  readonly maxRequests: number;

  alive = true;
  booted = false;
  aborted = false;
  /** The app as a Node request listener (set by initProcess). */
  app!: NodeRequestListener;
  appInfo: LoadedApp | undefined;

  protected acceptors: Acceptor[] = [];
  /** The master's load board (undefined without the native addon): see load-board.ts. */
  private board: LoadBoard | undefined;
  private balancePause: NodeJS.Timeout | undefined;
  /** Connections accepted and not yet closed, in any stage (connection hook, TLS, HTTP). */
  protected activeConnections = 0;
  protected readonly httpConnections = new Set<HttpConnection>();
  /** Accepted beyond the limit by an acceptor that cannot pause (fallback): served in order. */
  private readonly backlogQueue: Array<{ socket: Socket; listener: ListenerInfo }> = [];
  /**
   * Frees a connection's slot, by the stream its requests arrive on. Without keep-alive a
   * connection is done once its response is written: the slot is freed then, not after the
   * close handshake and linger, so a sync worker accepts its next client at once.
   */
  private readonly slots = new WeakMap<object, () => void>();
  /** Requests counted by countRequest(). */
  private counted = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private retireRequested = false;
  private tlsContext: TlsServerContext | undefined;
  private protocolOptionsCache: HttpProtocolOptions | undefined;
  private callbacksCache: HttpCallbacks | undefined;
  private stopping: Promise<void> | undefined;

  constructor(@inject(TOKENS.WorkerContext) protected readonly context: WorkerContext) {
    if (context === undefined || context === null || typeof context !== 'object' || context.settings === undefined) {
      throw new TypeError('A worker class is constructed with its WorkerContext');
    }
    this.ppid = context.ppid;
    this.age = context.age;
    this.settings = context.settings;
    this.log = context.log;
    this.hooks = context.hooks;
    this.container = context.container;
    this.listeners = context.listeners;
    const max = context.settings.get('max_requests');
    const jitter = context.settings.get('max_requests_jitter');
    this.maxRequests = max > 0 ? max + Math.floor(Math.random() * (jitter + 1)) : Infinity;
  }

  /** Requests handled so far (Gunicorn's worker.nr). */
  get requestCount(): number {
    return this.counted;
  }

  // ---------------------------------------------------------------- Gunicorn's contract

  /** Make this process a worker, then run(). Overrides call super.initProcess() last. */
  async initProcess(): Promise<void> {
    this.dropPrivileges();
    this.initSignals();
    this.startHeartbeat();
    tapWorkerConfigHooks(this.hooks, this.settings);
    await applyPlugins(this.context.plugins, {
      role: 'worker',
      settings: this.settings,
      container: this.container,
      log: this.log,
      coreVersion: CORE_VERSION,
      hooks: this.hooks,
      worker: this,
    });
    await this.loadApp();
    this.tlsContext = tlsContextFromSettings(this.settings);
    await this.hooks.postWorkerInit.promise(this);
    this.booted = true;
    await this.run();
    this.context.send({ type: 'ready', ...(this.appInfo !== undefined ? { appFile: this.appInfo.file } : {}) });
  }

  /** Start serving; resolve once the worker accepts connections. */
  abstract run(): void | Promise<void>;

  /** The heartbeat (Gunicorn's WorkerTmp.notify): proof to the master that the loop turns. */
  notify(): void {
    this.context.send({ type: 'heartbeat' });
  }

  // ---------------------------------------------------------------- what subclasses tune

  /** How many connections this worker serves at once; past it, it stops accepting. */
  protected abstract connectionLimit(): number;

  /** HttpProtocolOptions from the settings; sync overrides keepAlive. */
  protected protocolOptions(): HttpProtocolOptions {
    const s = this.settings;
    const allow = s.get('forwarded_allow_ips');
    const secure: Record<string, string> = {};
    for (const [name, value] of Object.entries(s.get('secure_scheme_headers'))) secure[name.toUpperCase()] = value;
    return {
      limitRequestLine: s.get('limit_request_line'),
      limitRequestFields: s.get('limit_request_fields'),
      limitRequestFieldSize: s.get('limit_request_field_size'),
      keepAlive: s.get('keepalive') > 0,
      keepAliveTimeoutMs: s.get('keepalive') * 1000,
      headersTimeoutMs: secondsOrNever(s.get('header_timeout')),
      bodyTimeoutMs: secondsOrNever(s.get('body_timeout')),
      serverHeader: `gunicorn-ts/${CORE_VERSION}`,
      secureSchemeHeaders: secure,
      forwardedAllowIps: allow.includes('*') ? '*' : allow,
    };
  }

  // ---------------------------------------------------------------- serving

  /** Load the app named by the settings (a worker always imports it itself: no fork()). */
  protected async loadApp(): Promise<void> {
    const spec = this.settings.get('app');
    if (spec === null) throw new Error('No application module specified');
    this.appInfo = await loadApp(spec, { cwd: this.settings.get('chdir'), searchPaths: appSearchPaths(this.settings) });
    this.app = this.appInfo.listener;
    this.container.register(TOKENS.App, { useValue: this.app });
  }

  /** Create an acceptor per listening socket, delivering to onAccepted, and start accepting. */
  protected startAccepting(): void {
    this.board = LoadBoard.attach(nativeAddon(), this.context.loadBoard);
    const batch = Math.max(1, Math.min(16, this.connectionLimit()));
    this.acceptors = this.listeners.map((listener) =>
      createAcceptor(listener, (accepted, l) => this.onAccepted(accepted, l), { backlog: this.settings.get('backlog'), batch, log: this.log }),
    );
    this.updateAccepting();
  }

  /** A connection was accepted: serve it if there is room (there always is with a pausable acceptor). */
  protected onAccepted(accepted: Accepted, listener: ListenerInfo): void {
    let socket: Socket;
    try {
      socket = acceptedSocket(accepted);
    } catch (err) {
      // One connection the runtime could not wrap (say, out of memory): drop it, keep serving.
      this.log.error('Cannot serve connection fd %s: %s', accepted.fd, err instanceof Error ? err.message : String(err));
      if (accepted.fd !== undefined) nativeAddon()?.closeFd(accepted.fd);
      return;
    }
    if (accepted.fd !== undefined && accepted.kind === 'tcp' && this.corksResponses()) corkUntilShutdown(socket, accepted.fd, nativeAddon()!);
    if (!this.alive && this.stopping !== undefined) {
      socket.destroy();
      return;
    }
    if (this.activeConnections >= this.connectionLimit()) {
      this.backlogQueue.push({ socket, listener });
      return;
    }
    this.serve(socket, listener);
  }

  private serve(socket: Socket, listener: ListenerInfo): void {
    if (socket.destroyed) {
      // Closed by the client while it waited in our queue (fallback acceptor only).
      this.serveNextQueued();
      return;
    }
    this.activeConnections += 1;
    this.balanceAfterAccept();
    this.updateAccepting();
    const slot = { released: false };
    const release = (): void => {
      if (slot.released) return;
      slot.released = true;
      const wasFull = this.activeConnections >= this.connectionLimit();
      this.activeConnections -= 1;
      if (wasFull && this.takeWaitingConnection()) return;
      this.serveNextQueued();
    };
    this.slots.set(socket, release);
    socket.once('close', release);
    this.handleConnection(socket, listener).catch((err: unknown) => {
      this.log.debug('Connection from %s dropped: %s', socket.remoteAddress, err instanceof Error ? err.message : String(err));
      socket.destroy();
    });
  }

  /**
   * Room again after being full (a sync worker's response is out): take a connection that
   * waits in the kernel queue at once, as Gunicorn's sync worker does, instead of re-arming the
   * poll and waiting a loop turn for it. Under load that saves two epoll_ctl calls and a loop
   * turn per request.
   */
  private takeWaitingConnection(): boolean {
    if (!this.alive || this.backlogQueue.length > 0 || this.balancePause !== undefined || !this.readyForConnection()) return false;
    for (const acceptor of this.acceptors) if (acceptor.acceptNow()) return true;
    return false;
  }

  private serveNextQueued(): void {
    for (let next = this.backlogQueue.shift(); next !== undefined; next = this.backlogQueue.shift()) {
      if (next.socket.destroyed) continue;
      this.serve(next.socket, next.listener);
      return;
    }
    this.updateAccepting();
  }

  /**
   * Accept while alive, ready for another connection and not pausing for a less loaded
   * sibling; otherwise leave connections in the kernel queue. Called on every change of
   * activeConnections, so it also publishes the count on the load board.
   */
  protected updateAccepting(): void {
    if (this.alive) this.board?.publish(this.activeConnections);
    // A pause lasts only while this worker stays ahead: one whose connections are short (a
    // stream of Connection: close requests) must not sit idle waiting for it to end.
    if (this.balancePause !== undefined && this.board?.isAheadOfASibling(this.activeConnections) !== true) {
      clearTimeout(this.balancePause);
      this.balancePause = undefined;
    }
    const accept = this.alive && this.readyForConnection() && this.balancePause === undefined;
    for (const acceptor of this.acceptors) {
      if (accept) acceptor.start();
      else acceptor.stop();
    }
  }

  /** Whether this worker can serve one more connection now (below its connection limit). */
  protected readyForConnection(): boolean {
    return this.activeConnections < this.connectionLimit();
  }

  /**
   * Just took a connection (counted): if ahead of a sibling, let it take the next one.
   * A worker that serves one connection at a time stops accepting anyway.
   */
  protected balanceAfterAccept(): void {
    if (this.board === undefined || this.balancePause !== undefined || this.connectionLimit() <= 1) return;
    if (!this.board.isAheadOfASibling(this.activeConnections)) return;
    this.balancePause = setTimeout(() => {
      this.balancePause = undefined;
      this.updateAccepting();
    }, BALANCE_PAUSE_MS);
  }

  /** The pipeline: `connection` hook (e.g. PROXY protocol) → TLS → HttpConnection. */
  protected async handleConnection(socket: Socket, listener: ListenerInfo): Promise<void> {
    let context: ConnectionContext = {
      socket,
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      peerAddress: socket.remoteAddress,
      listener: listener.address,
      secure: false,
    };
    if (this.hooks.connection.isUsed()) context = await this.hooks.connection.promise(context);
    let stream: HttpSocket = context.socket;
    if (this.tlsContext !== undefined) {
      stream = wrapTlsSocket(stream, this.tlsContext, (err) => this.log.debug('TLS error from %s: %s', context.remoteAddress, err.message));
      context.secure = true;
    }
    const release = this.slots.get(socket);
    if (release !== undefined && stream !== socket) this.slots.set(stream, release);
    // Without keep-alive the connection is done once our side has ended: also after an error
    // response (400, 408, ...), which no onResponse reports, while HttpConnection lingers up to
    // 2 s reading what a client that does not close still sends.
    if (release !== undefined && !this.cachedProtocolOptions().keepAlive) stream.once('finish', release);
    const connection = new HttpConnection(stream, this.app, this.cachedProtocolOptions(), this.cachedCallbacks());
    this.httpConnections.add(connection);
    connection.once('close', () => this.httpConnections.delete(connection));
    if (!this.alive) connection.shutdown();
    connection.start();
  }

  /** Every connection closes after one response, in plain TCP: see response-cork.ts. */
  private corksResponses(): boolean {
    return !this.cachedProtocolOptions().keepAlive && this.tlsContext === undefined && nativeAddon() !== undefined;
  }

  private cachedProtocolOptions(): HttpProtocolOptions {
    this.protocolOptionsCache ??= this.protocolOptions();
    return this.protocolOptionsCache;
  }

  private cachedCallbacks(): HttpCallbacks {
    this.callbacksCache ??= this.httpCallbacks();
    return this.callbacksCache;
  }

  /** pre_request/post_request hooks, the access log, request counting and app errors. */
  protected httpCallbacks(): HttpCallbacks {
    const preRequest = this.hooks.preRequest;
    const postRequest = this.hooks.postRequest;
    const keepAlive = this.cachedProtocolOptions().keepAlive;
    const logRequestLine = defaultPreRequest(this.settings, this.log);
    return {
      onRequest: (req: IncomingMessage) => {
        // Counted as it starts, as Gunicorn does: the request that reaches max_requests is
        // the last, and its own response already says `Connection: close`.
        this.countRequest();
        logRequestLine?.(req);
        if (preRequest.isUsed()) preRequest.call(this, req);
      },
      onResponse: (req: IncomingMessage, res: ServerResponse, info: AccessLogInfo) => {
        if (postRequest.isUsed()) postRequest.call(this, req, res);
        this.log.access(info);
        if (!keepAlive) this.slots.get(req.socket)?.();
      },
      onAppError: (err: unknown, req: IncomingMessage | undefined) => {
        this.log.exception(err, 'Error handling request %s', req?.url ?? '');
      },
    };
  }

  /**
   * One more request. At max_requests the worker stops after what it is serving, as Gunicorn's
   * does: it accepts no more connections (siblings, or its replacement, take them from the
   * kernel queue), its keep-alive connections end after their current response, and the
   * master, told to, starts the replacement at once. No request is refused on the way.
   */
  protected countRequest(): void {
    this.counted += 1;
    if (this.counted >= this.maxRequests) this.retire();
  }

  /** max_requests is reached (see countRequest); once. */
  protected retire(): void {
    if (this.retireRequested) return;
    this.retireRequested = true;
    this.context.send({ type: 'retire', requests: this.requestCount });
    void this.handleExit();
  }

  // ---------------------------------------------------------------- process mechanics

  /** -u/-g: the master keeps its privileges (to rebind); workers give them up before loading the app. */
  private dropPrivileges(): void {
    const uid = this.settings.get('user');
    const gid = this.settings.get('group');
    if (gid !== null && process.getgid?.() !== gid) {
      if (process.getuid?.() === 0) process.setgroups?.([gid]);
      process.setgid?.(gid);
    }
    if (uid !== null && process.getuid?.() !== uid) process.setuid?.(uid);
  }

  private startHeartbeat(): void {
    this.notify();
    this.heartbeat = setInterval(() => this.notify(), this.context.heartbeatMs);
  }

  protected initSignals(): void {
    process.on('SIGTERM', () => void this.handleExit());
    process.on('SIGQUIT', () => this.handleQuit());
    process.on('SIGINT', () => this.handleQuit());
    // Those handlers never run while the app blocks the event loop (a CPU-bound request), and
    // QUIT/INT must still be quick: the addon's own thread ends the process soon after anyway.
    try {
      nativeAddon()?.armQuickExit(BLOCKED_QUIT_GRACE_MS);
    } catch (err) {
      this.log.warning('QUIT/INT cannot end a worker whose event loop is blocked: %s', err instanceof Error ? err.message : String(err));
    }
    process.on('SIGUSR1', () => this.log.reopenFiles());
    process.on('SIGABRT', () => this.handleAbort());
    // Terminal-control signals are the master's business (Gunicorn resets them to default;
    // for HUP that would kill the worker, which the master would just replace).
    for (const signal of ['SIGHUP', 'SIGWINCH', 'SIGTTIN', 'SIGTTOU', 'SIGUSR2'] as const) process.on(signal, () => undefined);
  }

  /** TERM: stop accepting at once, let every connection finish (up to graceful_timeout), exit 0. */
  async handleExit(): Promise<void> {
    this.stopping ??= this.gracefulStop();
    return this.stopping;
  }

  protected async gracefulStop(): Promise<void> {
    this.alive = false;
    this.closeAcceptors();
    for (const connection of this.httpConnections) connection.shutdown();
    const deadline = Date.now() + this.gracefulDeadlineMs();
    const drained = (): boolean => this.activeConnections === 0 && this.httpConnections.size === 0;
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (drained() || Date.now() >= deadline) resolve();
        else setTimeout(check, 20);
      };
      check();
    });
    // As Gunicorn's async workers say when their graceful wait ends with requests still running.
    if (!drained()) this.log.warning('Worker graceful timeout (pid:%s)', this.pid);
    for (const connection of this.httpConnections) connection.destroy();
    await this.exit(0);
  }

  /**
   * How long TERM lets in-flight requests finish before they are cut: graceful_timeout, as in
   * Gunicorn's async and threaded workers. (The master's own shutdown ends every worker at
   * graceful_timeout whatever this says.)
   */
  protected gracefulDeadlineMs(): number {
    return this.settings.get('graceful_timeout') * 1000;
  }

  private quitting = false;

  /**
   * QUIT/INT: worker_int, then gone; in-flight requests are cut. Once: a Ctrl-C in a terminal
   * sends INT to the worker and the master's QUIT follows while it is still exiting.
   */
  protected handleQuit(): void {
    if (this.quitting) return;
    this.quitting = true;
    this.alive = false;
    this.hooks.workerInt.call(this);
    this.closeAcceptors();
    void this.exit(0, QUICK_EXIT_MS);
  }

  /** ABRT (the master's timeout): worker_abort, then exit 1. Only runs if the loop is free. */
  protected handleAbort(): void {
    this.alive = false;
    this.aborted = true;
    this.hooks.workerAbort.call(this);
    void this.exit(1, QUICK_EXIT_MS);
  }

  /** The master went away (IPC closed): stop like TERM, as Gunicorn does when its parent changes. */
  onMasterGone(): void {
    if (!this.alive) return;
    this.log.info('Parent changed, shutting down: %s', this);
    void this.handleExit();
  }

  protected closeAcceptors(): void {
    for (const acceptor of this.acceptors) acceptor.close();
    this.acceptors = [];
    clearTimeout(this.balancePause);
    this.board?.withdraw();
  }

  private exitStarted = false;

  /** Log, run the shutdown hooks (bounded), close the logger, exit. */
  protected async exit(code: number, withinMs = 1000): Promise<void> {
    if (this.exitStarted) return;
    this.exitStarted = true;
    clearInterval(this.heartbeat);
    const force = setTimeout(() => process.exit(code), withinMs);
    this.log.info('Worker exiting (pid: %s)', this.pid);
    try {
      await this.hooks.shutdown.promise(this);
    } catch (err) {
      this.log.exception(err, 'A plugin failed to shut down');
    }
    try {
      await this.log.close();
    } catch {
      // Exiting anyway.
    }
    clearTimeout(force);
    process.exit(code);
  }

  toString(): string {
    return `<Worker ${this.pid}>`;
  }
}

/** Whether a resolved worker_class value is a Worker subclass. */
export function isWorkerClass(value: unknown): value is new (context: WorkerContext) => Worker {
  return typeof value === 'function' && value.prototype instanceof Worker;
}

export type { WorkerToMaster };
