/**
 * Every error gunicorn-ts raises on purpose, in one table with a stable code: those that end a
 * process (with an exit code) and those the HTTP front answers a request with (with a status).
 *
 * Codes are part of the public contract (scripts and tests match on them), so an entry is
 * never renamed; add a new one instead. `exitCode` is what the CLI exits with when the error
 * reaches the top level: 2 for usage errors (bad flag, bad setting), 3 when workers cannot
 * boot and 4 when the app cannot be loaded (Gunicorn's WORKER_BOOT_ERROR / APP_LOAD_ERROR),
 * 1 otherwise.
 */
import { format } from 'node:util';

/** An error that ends a process (or the CLI) with `exitCode`. */
export interface ProcessErrorSpec {
  readonly exitCode: number;
  readonly message: string;
}

/** A request the HTTP front refuses: answered with `status` and `message` as a short body. */
export interface HttpErrorSpec {
  readonly status: number;
  readonly message: string;
}

type ErrorSpec = ProcessErrorSpec | HttpErrorSpec;

const table = {
  GTS_ERR_USAGE: { exitCode: 2, message: '%s' },
  GTS_ERR_INVALID_SETTING: { exitCode: 2, message: 'Invalid value for %s: %s' },
  GTS_ERR_UNKNOWN_SETTING: { exitCode: 2, message: 'Unknown setting %j in %s' },
  GTS_ERR_UNSUPPORTED_SETTING: { exitCode: 2, message: 'Setting %s is not supported by gunicorn-ts: %s' },
  GTS_ERR_CONFLICTING_SETTINGS: { exitCode: 2, message: '%s' },
  GTS_ERR_CONFIG_NOT_FOUND: { exitCode: 2, message: 'Config file %s not found' },
  GTS_ERR_CONFIG_LOAD: { exitCode: 1, message: 'Failed to load config file %s: %s' },
  GTS_ERR_CONFIG_SHAPE: { exitCode: 2, message: 'Config file %s: %s' },
  GTS_ERR_PLUGIN_SPEC: { exitCode: 2, message: 'Invalid plugin string %j: %s' },
  GTS_ERR_PLUGIN_NOT_FOUND: { exitCode: 1, message: 'Cannot resolve %s %j; tried:\n%s' },
  GTS_ERR_PLUGIN_INVALID: { exitCode: 1, message: '%s %j is not a valid %s: %s' },
  GTS_ERR_PLUGIN_INCOMPATIBLE: { exitCode: 1, message: 'Plugin %s requires @gunicorn-ts/core %s, but this is %s' },
  GTS_ERR_PLUGIN_FAILED: { exitCode: 1, message: 'Plugin %j failed in %s: %s' },
  GTS_ERR_PLUGIN_UNAVAILABLE: { exitCode: 1, message: '%s %j is not available: %s' },
  GTS_ERR_APP_SPEC: { exitCode: 2, message: 'Invalid app %j: %s' },
  GTS_ERR_APP_NOT_FOUND: { exitCode: 4, message: 'App module %j not found; tried:\n%s' },
  GTS_ERR_APP_EXPORT_NOT_FOUND: { exitCode: 4, message: 'App module %s has no export %j (exports: %s)' },
  GTS_ERR_APP_INVALID: { exitCode: 4, message: 'App %s is not a request listener or fetch handler: found %s' },
  GTS_ERR_APP_LOAD: { exitCode: 4, message: 'Failed to load app %s: %s' },
  GTS_ERR_WORKER_BOOT: { exitCode: 3, message: 'Worker failed to boot: %s' },
  GTS_ERR_BIND: { exitCode: 1, message: 'Cannot bind %s: %s' },
  GTS_ERR_HOOK: { exitCode: 1, message: 'Hook %s failed: %s' },
  GTS_ERR_PIDFILE: { exitCode: 1, message: 'PID file %s: %s' },
  GTS_ERR_ALREADY_RUNNING: { exitCode: 1, message: 'Already running on PID %s (or pid file %s is stale)' },
  GTS_ERR_TLS: { exitCode: 2, message: '%s' },
  GTS_ERR_USER: { exitCode: 2, message: 'No such %s: %j' },

  // The HTTP front's refusals (core/src/http/errors.ts). Messages never echo client input.

  GTS_ERR_HTTP_BAD_REQUEST_LINE: { status: 400, message: 'Malformed request line' },
  GTS_ERR_HTTP_INVALID_METHOD: { status: 400, message: 'Invalid method' },
  GTS_ERR_HTTP_INVALID_TARGET: { status: 400, message: 'Invalid request target' },
  GTS_ERR_HTTP_INVALID_VERSION: { status: 400, message: 'Invalid HTTP version' },
  GTS_ERR_HTTP_VERSION_NOT_SUPPORTED: { status: 505, message: 'HTTP version not supported' },
  GTS_ERR_HTTP_REQUEST_LINE_TOO_LONG: { status: 414, message: 'Request line is too large' },
  GTS_ERR_HTTP_TOO_MANY_FIELDS: { status: 431, message: 'Too many header fields' },
  GTS_ERR_HTTP_FIELD_TOO_LARGE: { status: 431, message: 'Header field is too large' },
  GTS_ERR_HTTP_HEAD_TOO_LARGE: { status: 431, message: 'Request header section is too large' },
  GTS_ERR_HTTP_BARE_LF: { status: 400, message: 'Line not terminated by CRLF' },
  GTS_ERR_HTTP_OBS_FOLD: { status: 400, message: 'Obsolete line folding is not accepted' },
  GTS_ERR_HTTP_INVALID_FIELD_NAME: { status: 400, message: 'Invalid header field name' },
  GTS_ERR_HTTP_INVALID_FIELD_VALUE: { status: 400, message: 'Invalid header field value' },
  GTS_ERR_HTTP_MISSING_HOST: { status: 400, message: 'Missing Host header' },
  GTS_ERR_HTTP_DUPLICATE_HOST: { status: 400, message: 'More than one Host header' },
  GTS_ERR_HTTP_INVALID_HOST: { status: 400, message: 'Invalid Host header' },
  GTS_ERR_HTTP_INVALID_CONTENT_LENGTH: { status: 400, message: 'Invalid Content-Length' },
  GTS_ERR_HTTP_DUPLICATE_CONTENT_LENGTH: { status: 400, message: 'More than one Content-Length' },
  GTS_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING: {
    status: 400,
    message: 'Both Content-Length and Transfer-Encoding',
  },
  GTS_ERR_HTTP_TRANSFER_ENCODING_NOT_CHUNKED: {
    status: 400,
    message: 'Final transfer coding is not chunked',
  },
  GTS_ERR_HTTP_TRANSFER_ENCODING_IN_HTTP10: {
    status: 400,
    message: 'Transfer-Encoding in an HTTP/1.0 request',
  },
  GTS_ERR_HTTP_INVALID_TRANSFER_ENCODING: { status: 400, message: 'Invalid Transfer-Encoding' },
  GTS_ERR_HTTP_UNSUPPORTED_TRANSFER_CODING: { status: 501, message: 'Unsupported transfer coding' },
  GTS_ERR_HTTP_INVALID_CHUNK_SIZE: { status: 400, message: 'Invalid chunk size' },
  GTS_ERR_HTTP_INVALID_CHUNK_EXTENSION: { status: 400, message: 'Invalid chunk extension' },
  GTS_ERR_HTTP_INVALID_CHUNK_DELIMITER: { status: 400, message: 'Chunk data not followed by CRLF' },
  GTS_ERR_HTTP_CHUNK_LINE_TOO_LONG: { status: 400, message: 'Chunk size line is too long' },
  GTS_ERR_HTTP_EXPECTATION_FAILED: { status: 417, message: 'Unsupported expectation' },
  GTS_ERR_HTTP_CONNECT_NOT_SUPPORTED: { status: 501, message: 'CONNECT is not supported' },
  GTS_ERR_HTTP_METHOD_NOT_IMPLEMENTED: { status: 501, message: 'Method not implemented for this app' },
  GTS_ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'Request header timeout' },
  GTS_ERR_HTTP_INCOMPLETE_REQUEST: { status: 400, message: 'Incomplete request' },
  GTS_ERR_HTTP_APP_ERROR: { status: 500, message: 'Internal Server Error' },
  GTS_ERR_HTTP_RESPONSE_LENGTH_MISMATCH: {
    status: 500,
    message: 'Response body length differs from its Content-Length',
  },
  GTS_ERR_HTTP_INVALID_RESPONSE_CONTENT_LENGTH: {
    status: 500,
    message: 'Response Content-Length is not a valid non-negative integer',
  },
  GTS_ERR_HTTP_INVALID_RESPONSE_STATUS: { status: 500, message: 'Response status code is not from 100 to 599' },
} as const satisfies Record<string, ErrorSpec>;

type Table = typeof table;
/** Codes of errors that end a process. */
export type GtsErrorCode = { [K in keyof Table]: Table[K] extends { exitCode: number } ? K : never }[keyof Table];
/** Every code in the table, process and HTTP. */
export type AnyErrorCode = keyof Table;

export class GtsError extends Error {
  readonly code: GtsErrorCode;
  readonly exitCode: number;
  /** Already written to stderr (the master's error log there): the CLI does not repeat it. */
  shownOnStderr = false;

  constructor(code: GtsErrorCode, args: readonly unknown[], options?: { cause?: unknown }) {
    const spec: ProcessErrorSpec = table[code];
    super(format(spec.message, ...args), options);
    this.name = 'GtsError';
    this.code = code;
    this.exitCode = spec.exitCode;
  }
}

/** `gtsError('GTS_ERR_BIND', addr, reason)`: the one way code in core builds an error. */
export function gtsError(code: GtsErrorCode, ...args: unknown[]): GtsError {
  return new GtsError(code, args);
}

/** Errors that wrap a throw of user code: an app, a plugin, a config file. */
type UserCodeErrorCode = 'GTS_ERR_APP_LOAD' | 'GTS_ERR_PLUGIN_FAILED' | 'GTS_ERR_CONFIG_LOAD';
const USER_CODE_ERRORS: ReadonlySet<GtsErrorCode> = new Set<UserCodeErrorCode>(['GTS_ERR_APP_LOAD', 'GTS_ERR_PLUGIN_FAILED', 'GTS_ERR_CONFIG_LOAD']);

/**
 * User code (an app, a plugin, a config file) threw `err`: a `code` error whose last argument
 * is err's message, keeping err as the cause for userCodeTrace. A GtsError passes through.
 */
export function userCodeError(code: UserCodeErrorCode, err: unknown, ...args: unknown[]): GtsError {
  if (isGtsError(err)) return err;
  return new GtsError(code, [...args, describeError(err)], { cause: err });
}

export function isGtsError(value: unknown, code?: GtsErrorCode): value is GtsError {
  return value instanceof GtsError && (code === undefined || value.code === code);
}

/** The message of anything thrown, without a stack: what a one-line CLI error shows. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * For user code that failed (an app or config file that cannot load, a plugin whose
 * constructor or apply() throws): where, as Gunicorn's traceback shows it. The stack of the
 * error underneath (a TypeError deep in a module the app imports names its file and line), or
 * '' when there is none to add. A syntax error's location is added to its stack by
 * app/syntax-location.ts.
 */
function userCodeTrace(err: unknown): string {
  if (!isGtsError(err) || !USER_CODE_ERRORS.has(err.code)) return '';
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error && cause.stack !== undefined ? `${cause.stack}\n` : '';
}

/**
 * describeError (followed by its `[GTS_ERR_*]` code when asked and it is ours), then the stack
 * of failing user code below it (userCodeTrace): what an error line shows, on stderr or in a log.
 */
export function describeWithTrace(err: unknown, withCode = false): string {
  const code = withCode && isGtsError(err) ? ` [${err.code}]` : '';
  return `${describeError(err)}${code}\n${userCodeTrace(err)}`.trimEnd();
}

export const errorTable = table;
