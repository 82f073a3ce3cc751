/**
 * The IPC protocol between the master and a worker process (the child_process 'ipc' channel).
 * Plain JSON objects with a `type`; nothing else crosses the boundary.
 */
import type { SerializedSettings } from '../settings/settings.js';
import type { LoadBoardRef } from '../worker/load-board.js';

/** A listening socket as a worker receives it: an inherited fd and how to name it. */
export interface ListenerInfo {
  /** The fd number in the worker (a spawn stdio slot). */
  readonly fd: number;
  /** As configured and logged, e.g. "http://127.0.0.1:8000" or "unix:/run/app.sock". */
  readonly url: string;
  /** The bind string it came from, e.g. "127.0.0.1:8000" (what ConnectionContext.listener shows). */
  readonly address: string;
  readonly kind: 'tcp' | 'unix';
}

/** master → worker, once, right after spawn. */
export interface BootMessage {
  readonly type: 'boot';
  readonly age: number;
  readonly ppid: number;
  readonly settings: SerializedSettings;
  readonly listeners: readonly ListenerInfo[];
  /** The load board's stdio slot in the worker and the worker's cell (see worker/load-board.ts). */
  readonly loadBoard?: LoadBoardRef;
  /** Heartbeat period in ms: a fraction of `timeout`, so a missed beat is noticed in time. */
  readonly heartbeatMs: number;
  /** The process title, e.g. "gunicorn-ts: worker [app]". */
  readonly title: string;
}

/** worker → master: the app is loaded and the worker accepts connections. */
export interface ReadyMessage {
  readonly type: 'ready';
  /** The app's module file: what --reload watches. */
  readonly appFile?: string;
}

/** worker → master: alive and its event loop turns (Gunicorn's WorkerTmp.notify). */
export interface HeartbeatMessage {
  readonly type: 'heartbeat';
  /**
   * A sync worker's one request has been running this long: its silence counts from the
   * request's start, as a Gunicorn sync worker's does (it cannot notify while it handles one).
   */
  readonly busyForMs?: number;
}

/**
 * worker → master: max_requests reached. The worker has stopped accepting and drains; the
 * master sends it TERM (which it is already doing) and starts its replacement at once.
 */
export interface RetireMessage {
  readonly type: 'retire';
  readonly requests: number;
}

export type WorkerToMaster = ReadyMessage | HeartbeatMessage | RetireMessage;
export type MasterToWorker = BootMessage;

export function isWorkerMessage(value: unknown): value is WorkerToMaster {
  if (value === null || typeof value !== 'object') return false;
  const type = (value as { type?: unknown }).type;
  return type === 'ready' || type === 'heartbeat' || type === 'retire';
}

export function isBootMessage(value: unknown): value is BootMessage {
  return value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'boot';
}

/** The env var a re-executed master (USR2) finds its inherited listening fds in, as Gunicorn's. */
export const INHERITED_FDS_ENV = 'GUNICORN_FD';
/** The env var naming the old master's pid in a re-executed master. */
export const PARENT_MASTER_ENV = 'GUNICORN_PID';
/** Set in the daemon process a `-D` launcher spawns. */
export const DAEMON_CHILD_ENV = 'GTS_DAEMON_CHILD';

/** daemon → launcher over the launcher's IPC channel: up (exit 0) or failed (exit with its status). */
export type DaemonReport = { readonly type: 'daemon-ready' } | { readonly type: 'daemon-failed'; readonly message: string; readonly exitCode: number };
