/**
 * A raw HTTP/1.1 client for conformance tests: bytes in, bytes out, every read with a deadline,
 * and a strict parser for the responses that come back.
 */
import net from 'node:net';
import tls from 'node:tls';

export const DEFAULT_TIMEOUT_MS = 3000;

export interface ParsedResponse {
  version: string;
  status: number;
  reason: string;
  /** lower-case name → values in order */
  headers: Map<string, string[]>;
  /** The head exactly as received (status line + fields + empty line). */
  rawHead: string;
  body: Buffer;
  framing: 'none' | 'length' | 'chunked' | 'close';
  trailers: Map<string, string[]>;
}

export function header(res: ParsedResponse, name: string): string | undefined {
  const values = res.headers.get(name.toLowerCase());
  return values === undefined ? undefined : values.join(', ');
}

class Incomplete extends Error {}

/** Bodiless by definition (RFC 9112 §6.3): HEAD responses, 1xx, 204, 304. */
function isBodiless(status: number, method: string | undefined): boolean {
  return method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304;
}

/**
 * Parses one response at the start of `buf`. Throws Incomplete when more bytes are needed
 * (a close-delimited body is complete only when `closed`), Error when the bytes are not HTTP.
 */
export function parseResponse(
  buf: Buffer,
  method: string | undefined,
  closed: boolean,
): { response: ParsedResponse; consumed: number } {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd === -1) throw new Incomplete();
  const rawHead = buf.subarray(0, headEnd + 4).toString('latin1');
  const lines = rawHead.slice(0, -4).split('\r\n');
  const statusMatch = /^(HTTP\/\d\.\d) (\d{3}) (.*)$/.exec(lines[0]!);
  if (statusMatch === null) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const status = Number(statusMatch[2]);
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) throw new Error(`bad header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const list = headers.get(name) ?? [];
    list.push(value);
    headers.set(name, list);
  }
  const trailers = new Map<string, string[]>();
  let pos = headEnd + 4;
  const base = { version: statusMatch[1]!, status, reason: statusMatch[3]!, headers, rawHead, trailers };
  const te = headers.get('transfer-encoding');
  const cl = headers.get('content-length');
  if (te !== undefined && cl !== undefined) throw new Error('response has both Content-Length and Transfer-Encoding');
  if (isBodiless(status, method)) {
    return { response: { ...base, body: Buffer.alloc(0), framing: 'none' }, consumed: pos };
  }
  if (te !== undefined) {
    if (!/(^|,)\s*chunked\s*$/i.test(te.join(','))) {
      if (!closed) throw new Incomplete();
      return { response: { ...base, body: buf.subarray(pos), framing: 'close' }, consumed: buf.length };
    }
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd === -1) throw new Incomplete();
      const sizeText = buf.subarray(pos, lineEnd).toString('latin1').split(';')[0]!;
      if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`bad chunk size ${JSON.stringify(sizeText)}`);
      const size = parseInt(sizeText, 16);
      pos = lineEnd + 2;
      if (size === 0) {
        for (;;) {
          const trailerEnd = buf.indexOf('\r\n', pos);
          if (trailerEnd === -1) throw new Incomplete();
          if (trailerEnd === pos) {
            pos += 2;
            return { response: { ...base, body: Buffer.concat(parts), framing: 'chunked' }, consumed: pos };
          }
          const line = buf.subarray(pos, trailerEnd).toString('latin1');
          const colon = line.indexOf(':');
          trailers.set(line.slice(0, colon).toLowerCase(), [line.slice(colon + 1).trim()]);
          pos = trailerEnd + 2;
        }
      }
      if (buf.length < pos + size + 2) throw new Incomplete();
      parts.push(buf.subarray(pos, pos + size));
      if (buf[pos + size] !== 0x0d || buf[pos + size + 1] !== 0x0a) throw new Error('chunk data not followed by CRLF');
      pos += size + 2;
    }
  }
  if (cl !== undefined) {
    if (cl.length !== 1 || !/^\d+$/.test(cl[0]!)) throw new Error(`bad Content-Length ${JSON.stringify(cl)}`);
    const length = Number(cl[0]);
    if (buf.length < pos + length) {
      if (closed) throw new Error(`connection closed after ${buf.length - pos} of ${length} body bytes`);
      throw new Incomplete();
    }
    return { response: { ...base, body: buf.subarray(pos, pos + length), framing: 'length' }, consumed: pos + length };
  }
  if (!closed) throw new Incomplete();
  return { response: { ...base, body: buf.subarray(pos), framing: 'close' }, consumed: buf.length };
}

export interface ConnectOptions {
  tls?: tls.ConnectionOptions;
  /** Keep our side open when the server ends its side (a client that never closes). */
  allowHalfOpen?: boolean;
}

/** One client connection with an input buffer; every wait has a deadline. */
export class WireClient {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private waiters: Array<() => void> = [];
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {
      this.ended = true;
      this.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1', options: ConnectOptions = {}): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('connect timeout'));
      }, DEFAULT_TIMEOUT_MS);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve(new WireClient(socket));
      };
      const socket: net.Socket =
        options.tls !== undefined
          ? tls.connect({ port, host, ...options.tls }, onReady)
          : net.connect({ port, host, allowHalfOpen: options.allowHalfOpen ?? false }, onReady);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when `condition` holds or rejects after `timeoutMs`. */
  private waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout after ${timeoutMs} ms waiting for ${what}; received ${JSON.stringify(this.buffer.toString('latin1').slice(0, 300))}`)), timeoutMs);
      const check = (): void => {
        let done: boolean;
        try {
          done = condition();
        } catch (err) {
          clearTimeout(timer);
          reject(err as Error);
          return;
        }
        if (done) {
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Half-close: we send FIN but keep reading. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The server closed (or reset) its side. */
  get serverClosed(): boolean {
    return this.ended;
  }

  /** Bytes received and not consumed by readResponse. */
  get pending(): Buffer {
    return this.buffer;
  }

  /** Reads the next response; `method` tells whether it answers a HEAD. */
  async readResponse(options: { method?: string; timeoutMs?: number } = {}): Promise<ParsedResponse> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let result: { response: ParsedResponse; consumed: number } | undefined;
    await this.waitFor(
      () => {
        try {
          result = parseResponse(this.buffer, options.method, this.ended);
          return true;
        } catch (err) {
          if (err instanceof Incomplete) {
            if (this.ended) throw new Error(`connection closed before a complete response; received ${JSON.stringify(this.buffer.toString('latin1').slice(0, 300))}`);
            return false;
          }
          throw err;
        }
      },
      timeoutMs,
      'a response',
    );
    this.buffer = this.buffer.subarray(result!.consumed);
    return result!.response;
  }

  /** Waits for the server to close; true if it did within the time. */
  async waitForClose(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<boolean> {
    try {
      await this.waitFor(() => this.ended, timeoutMs, 'the server to close');
      return true;
    } catch {
      return false;
    }
  }

  /** Waits until at least `n` bytes are buffered. */
  async waitForBytes(n: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await this.waitFor(() => this.buffer.length >= n || this.ended, timeoutMs, `${n} bytes`);
  }

  /** True if nothing arrives (and no close) within `ms`. */
  async staysSilent(ms: number): Promise<boolean> {
    const before = this.buffer.length;
    await new Promise((r) => setTimeout(r, ms));
    return this.buffer.length === before && !this.ended;
  }
}

export interface ExchangeResult {
  responses: ParsedResponse[];
  /** The server closed the connection (within the time allowed). */
  closed: boolean;
  /** Bytes after the last complete response. */
  rest: Buffer;
}

/** Run `fn` with a fresh connection to `target`, destroyed afterwards whatever happens. */
export async function withClient(target: { readonly port: number }, fn: (client: WireClient) => Promise<void>): Promise<void> {
  const client = await WireClient.connect(target.port);
  try {
    await fn(client);
  } finally {
    client.destroy();
  }
}

/**
 * Sends `data` on a fresh connection, then reads responses until the server closes or
 * `timeoutMs` passes. `methods` gives the request methods in order (HEAD responses have no body).
 */
export async function exchange(
  port: number,
  data: string | Buffer,
  options: { methods?: string[]; timeoutMs?: number; halfClose?: boolean; host?: string; connect?: ConnectOptions } = {},
): Promise<ExchangeResult> {
  const client = await WireClient.connect(port, options.host, options.connect);
  try {
    client.write(data);
    if (options.halfClose) client.end();
    const closed = await client.waitForClose(options.timeoutMs ?? 1500);
    const responses: ParsedResponse[] = [];
    let buf = client.pending;
    let index = 0;
    while (buf.length > 0) {
      try {
        const { response, consumed } = parseResponse(buf, options.methods?.[index], closed);
        responses.push(response);
        buf = buf.subarray(consumed);
        if (response.status >= 200 || response.status < 100) index++;
      } catch (err) {
        if (err instanceof Incomplete) break;
        throw err;
      }
    }
    return { responses, closed, rest: buf };
  } finally {
    client.destroy();
  }
}

/** A request with the given head lines (CRLF-joined, Host added unless `host: null`). */
export function request(
  method: string,
  target: string,
  fields: string[] = [],
  body = '',
  options: { version?: string; host?: string | null } = {},
): string {
  const version = options.version ?? 'HTTP/1.1';
  const host = options.host === undefined ? 'example.test' : options.host;
  const lines = [`${method} ${target} ${version}`];
  if (host !== null) lines.push(`Host: ${host}`);
  lines.push(...fields);
  return lines.join('\r\n') + '\r\n\r\n' + body;
}
