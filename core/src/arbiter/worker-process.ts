/**
 * The master's record of one worker process (what hooks see as WorkerInfo), and how it is
 * spawned: a fresh `node core/dist/worker/entry.js` (there is no fork()) that gets the listening
 * sockets as stdio slots 4.. (then the load board, if any) and an IPC channel on slot 3, and is
 * sent its settings at once.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerInfo } from '../hooks/hooks.js';
import { DAEMON_CHILD_ENV, INHERITED_FDS_ENV, PARENT_MASTER_ENV, type BootMessage, type ListenerInfo } from './messages.js';
import type { Listener } from './sockets.js';

const WORKER_MAIN = fileURLToPath(new URL('../worker/entry.js', import.meta.url));
/** stdio slot of the IPC channel; listening sockets follow it. */
const IPC_SLOT = 3;
const FIRST_LISTENER_SLOT = IPC_SLOT + 1;

export class WorkerProcess implements WorkerInfo {
  pid = 0;
  exitCode: number | null | undefined = undefined;
  exitSignal: NodeJS.Signals | null | undefined = undefined;
  /** Heard from since its last beat (ms, monotonic clock). */
  lastBeat = performance.now();
  /** When its process was started (ms, monotonic clock): its boot is bounded from here. */
  spawnedAt = performance.now();
  /** Booted: the app loaded and it accepts connections. */
  ready = false;
  exited = false;
  /** Wants to be replaced (HUP, --reload): stays until a replacement is ready. */
  retiring = false;
  /** Sent TERM; on its way out. */
  terminating = false;
  terminatedAt = 0;
  /** Sent SIGABRT after a timeout; SIGKILL follows. */
  aborted = false;
  abortedAt = 0;
  /**
   * A USR1 (reopen the logs) came while the worker booted: sent once it is ready. Before its
   * own handler is added, a USR1 would do nothing, or start Node's inspector.
   */
  reopenPending = false;
  /** Why the master sent SIGKILL, if it did: the exit log says so instead of guessing at memory. */
  killedBecause: string | undefined;
  /** The app's module file, reported when ready (what --reload watches). */
  appFile: string | undefined;
  /** Why the process could not be started (pid stays 0). */
  spawnError: Error | undefined;

  constructor(
    readonly age: number,
    /** Bumped by every HUP: workers of an older generation are being replaced. */
    readonly generation: number,
  ) {}

  /** Spawn the process. `onExit`/`onMessage` run on the master's loop. */
  spawn(options: {
    listeners: readonly Listener[];
    /** Node flags before the entry script (worker_semi_space). */
    nodeFlags: readonly string[];
    /** The load board's fd in the master and this worker's cell on it. */
    loadBoard?: { readonly fd: number; readonly slot: number };
    boot: Omit<BootMessage, 'type' | 'listeners' | 'loadBoard'>;
    cwd: string;
    env: NodeJS.ProcessEnv;
    onMessage: (message: unknown) => void;
    onExit: () => void;
  }): void {
    const listenerInfo: ListenerInfo[] = options.listeners.map((l, i) => ({ fd: FIRST_LISTENER_SLOT + i, url: l.url, address: l.address, kind: l.kind }));
    const board = options.loadBoard;
    const passed = [...options.listeners.map((l) => l.fd), ...(board !== undefined ? [board.fd] : [])];
    const child = spawn(process.execPath, [...process.execArgv, ...options.nodeFlags, WORKER_MAIN, options.boot.title], {
      cwd: options.cwd,
      env: workerEnv(options.env),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...passed],
    });
    this.pid = child.pid ?? 0;
    this.lastBeat = performance.now();
    this.spawnedAt = this.lastBeat;
    child.on('message', options.onMessage);
    child.on('error', (err) => {
      // A spawn failure (no pid) is reported through 'exit'-less error; treat it as an exit.
      if (this.pid === 0 && !this.exited) {
        this.spawnError = err;
        this.markExited(null, null, options.onExit);
      }
    });
    child.on('exit', (code, signal) => this.markExited(code, signal, options.onExit));
    const boot: BootMessage = {
      type: 'boot',
      ...options.boot,
      listeners: listenerInfo,
      ...(board !== undefined ? { loadBoard: { fd: FIRST_LISTENER_SLOT + options.listeners.length, slot: board.slot } } : {}),
    };
    if (this.pid !== 0) child.send(boot, (err) => void err /* the exit handler reports a dead child */);
  }

  private markExited(code: number | null, signal: NodeJS.Signals | null, onExit: () => void): void {
    this.exited = true;
    this.exitCode = code;
    this.exitSignal = signal;
    onExit();
  }

  /** Send a signal; false when the process is already gone. */
  kill(signal: NodeJS.Signals): boolean {
    if (this.exited || this.pid === 0) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  toString(): string {
    return `<Worker ${this.pid}>`;
  }
}

/** Workers must not see the variables that pass sockets to a master. */
function workerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of [INHERITED_FDS_ENV, PARENT_MASTER_ENV, DAEMON_CHILD_ENV, 'LISTEN_FDS', 'LISTEN_PID', 'NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE']) delete copy[name];
  return copy;
}
