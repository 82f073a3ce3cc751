import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessLogInfo } from './access-log.js';

/** Protocol settings of one connection; the settings layer maps Gunicorn's settings onto it. */
export interface HttpProtocolOptions {
  /** Max request-line length in bytes, CRLF excluded; 0 = unlimited (bounded by MAX_HEAD_BYTES). */
  limitRequestLine: number;
  /** Max number of header fields; 0 or > 32768 means 32768 (Gunicorn's MAX_HEADERS). */
  limitRequestFields: number;
  /** Max size in bytes of one field line ("Name: value", CRLF excluded); 0 = unlimited (bounded). */
  limitRequestFieldSize: number;
  /** Persistent connections allowed (false for the sync worker: every response closes). */
  keepAlive: boolean;
  /** Idle time allowed between requests on a persistent connection. */
  keepAliveTimeoutMs: number;
  /** The whole request head must arrive within this time of its first byte (and of accept). */
  headersTimeoutMs: number;
  /** Longest silence allowed while a request body is being received. */
  bodyTimeoutMs: number;
  /** Value of the Server header we add when the app sets none, e.g. 'gunicorn-ts/0.1.0'. */
  serverHeader: string;
  /** Upper-case header name → exact value that marks a request as https (secure_scheme_headers). */
  secureSchemeHeaders: Record<string, string>;
  /** Peers trusted to send secureSchemeHeaders (forwarded_allow_ips). */
  forwardedAllowIps: readonly string[] | '*';
}

export interface HttpCallbacks {
  /** pre_request hook: runs before the app. Throwing counts as an app error (500). */
  onRequest?(req: IncomingMessage, res: ServerResponse): void;
  /** After the response is completely written: post_request hook, access log, request counting. */
  onResponse?(req: IncomingMessage, res: ServerResponse, info: AccessLogInfo): void;
  /** Application failure (with stack), or a response framing error the app caused. */
  onAppError(err: unknown, req: IncomingMessage | undefined): void;
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Gunicorn's hard maximum for limit_request_fields. */
export const MAX_REQUEST_FIELDS = 32768;

/**
 * Upper bound of a request head (request line + fields) whatever the limits say, so that
 * "0 = unlimited" cannot be used to make a worker buffer unbounded memory per connection.
 */
export const MAX_HEAD_BYTES = 1024 * 1024;

export const DEFAULT_HTTP_PROTOCOL_OPTIONS: Readonly<HttpProtocolOptions> = Object.freeze({
  limitRequestLine: 4094,
  limitRequestFields: 100,
  limitRequestFieldSize: 8190,
  keepAlive: true,
  keepAliveTimeoutMs: 2000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  serverHeader: 'gunicorn-ts',
  secureSchemeHeaders: Object.freeze({
    'X-FORWARDED-PROTOCOL': 'ssl',
    'X-FORWARDED-PROTO': 'https',
    'X-FORWARDED-SSL': 'on',
  }) as Record<string, string>,
  forwardedAllowIps: Object.freeze(['127.0.0.1']) as readonly string[],
});

/** The limits the parser enforces, with 0/out-of-range values resolved. */
export interface EffectiveLimits {
  readonly requestLine: number;
  readonly fieldCount: number;
  readonly fieldSize: number;
}

export function resolveLimits(options: HttpProtocolOptions): EffectiveLimits {
  const line = options.limitRequestLine;
  const fields = options.limitRequestFields;
  const size = options.limitRequestFieldSize;
  return {
    requestLine: line > 0 ? Math.min(line, MAX_HEAD_BYTES) : MAX_HEAD_BYTES,
    fieldCount: fields > 0 && fields <= MAX_REQUEST_FIELDS ? fields : MAX_REQUEST_FIELDS,
    fieldSize: size > 0 ? Math.min(size, MAX_HEAD_BYTES) : MAX_HEAD_BYTES,
  };
}
