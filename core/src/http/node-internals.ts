import { IncomingMessage, OutgoingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

/**
 * The private parts of Node 20's http and tls objects we depend on (lib/_http_outgoing.js,
 * lib/_http_incoming.js, lib/_http_server.js, lib/_tls_wrap.js). Kept in one place so that a
 * Node upgrade that changes them breaks in one file.
 */

function findSymbol(target: object, description: string): symbol {
  const found = Object.getOwnPropertySymbols(target).find((s) => s.description === description);
  if (found === undefined) throw new Error(`gunicorn-ts: Node's http internals changed (no ${description} symbol)`);
  return found;
}

const probe = new OutgoingMessage();
/** OutgoingMessage's header map: { lowercase name: [name as set, value] } or null. */
export const kOutHeaders: unique symbol = findSymbol(probe, 'kOutHeaders') as never;
/** OutgoingMessage's "a write returned false" flag, cleared by whoever emits 'drain'. */
export const kNeedDrain: unique symbol = findSymbol(probe, 'kNeedDrain') as never;

export type OutHeaderMap = Record<string, [string, unknown]>;

/** Private OutgoingMessage/ServerResponse state used by the strict response writer. */
export interface ResponseInternals extends ServerResponse {
  [kOutHeaders]: OutHeaderMap | null;
  [kNeedDrain]: boolean;
  _header: string | null;
  _headerSent: boolean;
  _hasBody: boolean;
  _last: boolean;
  _closed: boolean;
  _contentLength: number | null;
  _removedConnection: boolean;
  _removedContLen: boolean;
  _removedTE: boolean;
  useChunkedEncodingByDefault: boolean;
  outputData: unknown[];
  _storeHeader(firstLine: string, headers: unknown): void;
  _implicitHeader(): void;
  detachSocket(socket: unknown): void;
}

/** Private IncomingMessage state used to feed a request. */
export interface RequestInternals extends IncomingMessage {
  _consuming: boolean;
  _dumped: boolean;
  _readableState: { readingMore: boolean; resumeScheduled: boolean };
  _addHeaderLines?(headers: string[], n: number): void;
  _dump(): void;
}

export const responsePrototypeWrite = ServerResponse.prototype.write;
export const responsePrototypeEnd = ServerResponse.prototype.end;
export const responsePrototypeWriteEarlyHints = ServerResponse.prototype.writeEarlyHints;
export const responsePrototypeWriteContinue = ServerResponse.prototype.writeContinue;
export const responsePrototypeWriteProcessing = ServerResponse.prototype.writeProcessing;

/**
 * The verdict of OpenSSL's check of the peer's certificate chain, as tls.Server reads it in
 * lib/_tls_wrap.js (onServerSocketSecure): null when it verified, else an Error whose `code` is
 * the OpenSSL reason (e.g. SELF_SIGNED_CERT_IN_CHAIN). A server-side TLSSocket made without a
 * tls.Server gets no such check, so its `authorized` would stay false whatever the client sent.
 */
export function tlsVerifyError(socket: TLSSocket): (Error & { code?: string }) | null {
  const handle = (socket as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } | null })._handle;
  if (typeof handle?.verifyError !== 'function') throw new Error("gunicorn-ts: Node's tls internals changed (no _handle.verifyError)");
  return handle.verifyError();
}

/** One write a stream holds in its own buffer (lib/internal/streams/writable.js). */
interface HeldWrite {
  chunk: { length: number };
  callback: (err?: Error | null) => void;
}

/** The private parts of a net.Socket's Writable side that tell what is held and what went out. */
interface SocketWriteInternals {
  _bytesDispatched?: number;
  _writableState?: { buffered?: HeldWrite[]; bufferedIndex?: number; length: number; pendingcb: number; objectMode?: boolean };
}

/**
 * How far a socket's writes had gone at one moment: the bytes handed to the kernel, and the
 * newest write still held in the stream's buffer (the entry object itself: a count would go
 * stale when the stream flushes a write of 0 bytes, such as the '' OutgoingMessage.end() leaves).
 */
export interface WriteMark {
  readonly dispatched: number;
  readonly newestHeld: HeldWrite | undefined;
}

type WriteState = Required<NonNullable<SocketWriteInternals['_writableState']>>;

function writeState(socket: object): { dispatched: number; state: WriteState } | undefined {
  const { _bytesDispatched: dispatched, _writableState: state } = socket as SocketWriteInternals;
  if (typeof dispatched !== 'number' || !Array.isArray(state?.buffered) || typeof state.bufferedIndex !== 'number') return undefined;
  return { dispatched, state: state as WriteState };
}

export function writeMark(socket: object): WriteMark | undefined {
  const current = writeState(socket);
  if (current === undefined) return undefined;
  const { buffered, bufferedIndex } = current.state;
  return { dispatched: current.dispatched, newestHeld: buffered.length > bufferedIndex ? buffered[buffered.length - 1] : undefined };
}

/**
 * Takes back every write made to `socket` since `mark`, provided none of them left the stream's
 * own buffer (the socket was corked, as a response's first write in a turn corks it until the
 * next tick). Their callbacks get `reason`, as on a destroyed socket. False, and nothing taken
 * back, when some byte since the mark was handed to the kernel.
 */
export function takeBackWritesSince(socket: object, mark: WriteMark, reason: Error): boolean {
  const current = writeState(socket);
  if (current === undefined || current.dispatched !== mark.dispatched) return false;
  const { state } = current;
  // Writes are flushed in order: if the newest one held at the mark is gone, so is every one
  // before it, and no byte went with them (the count is unchanged). What is held now is newer.
  const newest = mark.newestHeld === undefined ? -1 : state.buffered.indexOf(mark.newestHeld, state.bufferedIndex);
  const taken = state.buffered.splice(newest === -1 ? state.bufferedIndex : newest + 1);
  for (const { chunk, callback } of taken) {
    state.length -= state.objectMode === true ? 1 : chunk.length;
    state.pendingcb--;
    process.nextTick(callback, reason);
  }
  return true;
}
