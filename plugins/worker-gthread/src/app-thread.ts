/**
 * The main thread's handle on one app thread: starts it, hands it connection fds, keeps the
 * count of its open connections and which fds it has not adopted yet, and terminates it.
 * Terminating a thread closes every socket it wrapped (Node closes the thread's handles); fds
 * still waiting in its message queue were never wrapped, so they are closed here instead.
 */
import type { Socket } from 'node:net';
import { MessageChannel, Worker as NodeWorker } from 'node:worker_threads';
import type { AcceptedFd, NativeAddon } from '@gunicorn-ts/core';
import type { MainToThread, ThreadBootData, ThreadToMain } from './messages.js';
import { ThreadSharedState } from './shared-state.js';
import { relayPeer, relaySocket } from './socket-relay.js';

export type AppThreadState = 'booting' | 'ready' | 'stopping' | 'gone';

export interface AppThreadEvents {
  ready(thread: AppThread, message: Extract<ThreadToMain, { type: 'ready' }>): void;
  bootFailed(thread: AppThread, message: Extract<ThreadToMain, { type: 'boot-failed' }>): void;
  report(thread: AppThread, closed: number): void;
  /** The thread answered a ping: its event loop is free now. */
  pong(thread: AppThread): void;
  /** The thread started the last request max_requests allows. */
  budgetSpent(): void;
  stopped(thread: AppThread): void;
  /** The thread ended without being asked to (an uncaught error, process.exit in the app). */
  exited(thread: AppThread, reason: string): void;
}

/**
 * A thread that answered a ping is asked again no sooner than this. Under keep-alive load it
 * starts another request between the answer and the next look, so asking again at once would
 * keep a ping and a pong in flight at every turn of both event loops.
 */
const PING_INTERVAL_MS = 5;

/** The thread's entry module, next to this file in dist/. */
const THREAD_ENTRY = new URL('./thread-main.js', import.meta.url);

export class AppThread {
  state: AppThreadState = 'booting';
  readonly shared = new ThreadSharedState();
  private readonly worker: NodeWorker;
  private seq = 0;
  private handed = 0;
  private closed = 0;
  /** Relayed connections open (the main thread owns those sockets and counts them itself). */
  private relays = 0;
  /** Handed fds the thread may not have adopted yet, oldest first. */
  private unadopted: Array<{ readonly seq: number; readonly fd: number }> = [];
  private exitedPromise: Promise<void>;
  /** A ping was sent and not answered yet. */
  private pingOutstanding = false;
  /** When the last pong came (performance.now()). */
  private lastPongAt = -Infinity;
  /**
   * The thread's count of started requests when it last answered a ping, if it has not been
   * given a connection since (see provenFree).
   */
  private freeAtStarted: number | undefined;
  /** terminate() was called: the exit that follows is expected. */
  private terminating = false;
  private readonly startedThreadId: number;

  constructor(
    readonly index: number,
    boot: Omit<ThreadBootData, 'index' | 'shared'>,
    private readonly events: AppThreadEvents,
    /** Undefined when connections are relayed: then there are no fds to close here. */
    private readonly addon: NativeAddon | undefined,
  ) {
    // A thread is healthy from its birth until it misses heartbeats, booting included.
    this.shared.beat();
    const workerData: ThreadBootData = { ...boot, index, shared: this.shared.buffer };
    this.worker = new NodeWorker(THREAD_ENTRY, { workerData, name: `gthread-${index}` });
    this.startedThreadId = this.worker.threadId;
    this.worker.on('message', (message: ThreadToMain) => this.onMessage(message));
    // An 'error' is followed by 'exit'; the reason is kept for the log line.
    let failure = '';
    this.worker.on('error', (err) => (failure = err instanceof Error ? (err.stack ?? err.message) : String(err)));
    this.exitedPromise = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        const unexpected = !this.terminating && this.state !== 'stopping';
        this.state = 'gone';
        this.closeUnadopted();
        if (unexpected) this.events.exited(this, failure || `exit code ${code}`);
        resolve();
      });
    });
  }

  /** The thread's id, also once it has exited (Node's Worker.threadId is -1 then). */
  get threadId(): number {
    return this.startedThreadId;
  }

  /** Being terminated, or gone. */
  get ending(): boolean {
    return this.terminating || this.state === 'gone';
  }

  /**
   * The thread answered a ping since it was last given a connection, and has started no request
   * since: it may have requests in progress, but they wait on I/O, so it can take another
   * connection at once. A request that starts after the pong (its bytes came late, or it was
   * already on its way when the ping was answered) may be CPU-bound: not proven.
   */
  get provenFree(): boolean {
    return this.freeAtStarted === this.shared.started();
  }

  /** Fds handed to the thread that it has not adopted yet (it adopts them in order). */
  get queued(): number {
    return this.seq - this.shared.lastAdopted();
  }

  /** Connections handed to this thread and not closed yet. */
  get connections(): number {
    return this.handed - this.closed + this.relays;
  }

  /** Pass an accepted connection's fd; from here it is the thread's to close. */
  give(accepted: AcceptedFd, listener: number): void {
    const { fd, peer, noDelay } = accepted;
    this.seq += 1;
    this.handed += 1;
    this.freeAtStarted = undefined;
    this.unadopted.push({ seq: this.seq, fd });
    this.post({ type: 'connection', fd, seq: this.seq, listener, peer, noDelay });
  }

  /** Without the native addon: keep the socket here and relay its bytes to the thread. */
  relay(socket: Socket, listener: number): void {
    const { port1, port2 } = new MessageChannel();
    this.relays += 1;
    this.freeAtStarted = undefined;
    socket.once('close', () => (this.relays -= 1));
    relaySocket(socket, port1);
    if (this.state === 'gone') port1.close();
    else this.worker.postMessage({ type: 'relay', port: port2, peer: relayPeer(socket), listener } satisfies MainToThread, [port2]);
  }

  post(message: MainToThread): void {
    if (this.state !== 'gone') this.worker.postMessage(message);
  }

  /** Ask whether the thread's event loop is free (once at a time). */
  ping(): void {
    if (this.pingOutstanding || this.state !== 'ready' || performance.now() - this.lastPongAt < PING_INTERVAL_MS) return;
    this.pingOutstanding = true;
    this.post({ type: 'ping' });
  }

  /** Ask the thread to stop (it answers 'stopped' once its connections are closed). */
  requestStop(graceful: boolean): void {
    if (this.state === 'gone') return;
    if (this.state === 'stopping' && graceful) return;
    this.state = 'stopping';
    this.post({ type: 'stop', graceful });
  }

  /** End the thread now, busy or not; resolves when it is gone and its fds are closed. */
  async terminate(): Promise<void> {
    if (this.state !== 'gone') {
      this.terminating = true;
      await this.worker.terminate();
    }
    await this.exitedPromise;
  }

  private onMessage(message: ThreadToMain): void {
    switch (message.type) {
      case 'ready':
        if (this.state === 'booting') this.state = 'ready';
        this.events.ready(this, message);
        break;
      case 'boot-failed':
        this.events.bootFailed(this, message);
        break;
      case 'report':
        this.closed += message.closed;
        this.forgetAdopted();
        this.events.report(this, message.closed);
        break;
      case 'pong':
        this.pingOutstanding = false;
        this.freeAtStarted = message.started;
        this.lastPongAt = performance.now();
        this.events.pong(this);
        break;
      case 'budget-spent':
        this.events.budgetSpent();
        break;
      case 'stopped':
        this.events.stopped(this);
        break;
    }
  }

  /** Drop the fds the thread has confirmed it owns. */
  private forgetAdopted(): void {
    const adopted = this.shared.lastAdopted();
    let i = 0;
    while (i < this.unadopted.length && this.unadopted[i]!.seq <= adopted) i++;
    if (i > 0) this.unadopted = this.unadopted.slice(i);
  }

  /**
   * After the thread is gone: close what it never adopted. The thread records an fd as adopted
   * before wrapping it, so a thread cut between the two leaks that one fd rather than have two
   * owners close it (the second close could hit a newly accepted connection).
   */
  private closeUnadopted(): void {
    this.forgetAdopted();
    for (const { fd } of this.unadopted) {
      try {
        this.addon?.closeFd(fd);
      } catch {
        // Already closed.
      }
    }
    this.unadopted = [];
  }

  /** Connections the thread still held when it ended: the process no longer has them. */
  takeLostConnections(): number {
    const lost = this.handed - this.closed;
    this.closed = this.handed;
    return lost;
  }
}
