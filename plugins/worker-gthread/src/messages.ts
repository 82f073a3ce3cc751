/**
 * The messages between a gthread worker's main thread and its app threads. Connections cross
 * as raw fd numbers: fds belong to the process, so a thread wraps one in its own net.Socket
 * and no byte of the connection ever passes through the main thread. Without the native
 * addon, a connection crosses as a MessagePort its bytes are relayed over (socket-relay.ts).
 */
import type { MessagePort } from 'node:worker_threads';
import type { HttpProtocolOptions, ListenerInfo, PeerAddress, SerializedSettings } from '@gunicorn-ts/core';
import type { RelayPeer } from './socket-relay.js';

/** workerData of an app thread. */
export interface ThreadBootData {
  /** The thread's slot, 0..threads-1 (a replacement takes its predecessor's). */
  readonly index: number;
  readonly age: number;
  readonly ppid: number;
  readonly settings: SerializedSettings;
  readonly listeners: readonly ListenerInfo[];
  readonly protocolOptions: HttpProtocolOptions;
  readonly heartbeatMs: number;
  readonly shared: SharedArrayBuffer;
  /** The process's max_requests budget, shared by all its threads (request-budget.ts). */
  readonly budget: SharedArrayBuffer;
}

export type MainToThread =
  /**
   * Serve this accepted connection; `listener` indexes ThreadBootData.listeners; `peer` and
   * `noDelay` are what the acceptor knows of it (see the core's socket-from-fd.ts).
   */
  | {
      readonly type: 'connection';
      readonly fd: number;
      readonly seq: number;
      readonly listener: number;
      readonly peer: PeerAddress | undefined;
      readonly noDelay: boolean | undefined;
    }
  /** Without the native addon: serve the connection whose bytes the main thread relays over `port`. */
  | { readonly type: 'relay'; readonly port: MessagePort; readonly peer: RelayPeer; readonly listener: number }
  /** USR1: reopen the log files. */
  | { readonly type: 'reopen' }
  /** Is your event loop free? Answered with 'pong' as soon as it is (see ThreadPool.canTakeConnection). */
  | { readonly type: 'ping' }
  /**
   * Stop: graceful finishes in-flight requests and closes idle keep-alive connections;
   * otherwise connections are cut at once. Then the shutdown hooks run and logs are flushed.
   */
  | { readonly type: 'stop'; readonly graceful: boolean };

export type ThreadToMain =
  | { readonly type: 'ready'; readonly appFile: string; readonly description: string }
  /** The thread could not boot; `code` is the GtsError code, when it was one (e.g. GTS_ERR_APP_LOAD). */
  | { readonly type: 'boot-failed'; readonly message: string; readonly code: string | undefined }
  /** Since the last report: connections closed and responses completed. Sent at most once per loop turn. */
  | { readonly type: 'report'; readonly closed: number }
  /**
   * The answer to 'ping': the thread's event loop turned since it was asked. `started` is its
   * count of started requests then (see AppThread.provenFree).
   */
  | { readonly type: 'pong'; readonly started: number }
  /** The thread started the last request max_requests allows: stop accepting now. */
  | { readonly type: 'budget-spent' }
  /** After a stop: connections are closed and the shutdown hooks have run. */
  | { readonly type: 'stopped' };
