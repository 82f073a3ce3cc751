import { errorTable, type HttpErrorSpec } from '../errors.js';

/**
 * Stable error codes of the HTTP/1.1 front. Protocol errors carry the status we answer with;
 * the message is what the short error body says (never echoes client input).
 */

export const HttpErrorCode = {
  BAD_REQUEST_LINE: 'GTS_ERR_HTTP_BAD_REQUEST_LINE',
  INVALID_METHOD: 'GTS_ERR_HTTP_INVALID_METHOD',
  INVALID_TARGET: 'GTS_ERR_HTTP_INVALID_TARGET',
  INVALID_VERSION: 'GTS_ERR_HTTP_INVALID_VERSION',
  VERSION_NOT_SUPPORTED: 'GTS_ERR_HTTP_VERSION_NOT_SUPPORTED',
  REQUEST_LINE_TOO_LONG: 'GTS_ERR_HTTP_REQUEST_LINE_TOO_LONG',
  TOO_MANY_FIELDS: 'GTS_ERR_HTTP_TOO_MANY_FIELDS',
  FIELD_TOO_LARGE: 'GTS_ERR_HTTP_FIELD_TOO_LARGE',
  HEAD_TOO_LARGE: 'GTS_ERR_HTTP_HEAD_TOO_LARGE',
  BARE_LF: 'GTS_ERR_HTTP_BARE_LF',
  OBS_FOLD: 'GTS_ERR_HTTP_OBS_FOLD',
  INVALID_FIELD_NAME: 'GTS_ERR_HTTP_INVALID_FIELD_NAME',
  INVALID_FIELD_VALUE: 'GTS_ERR_HTTP_INVALID_FIELD_VALUE',
  MISSING_HOST: 'GTS_ERR_HTTP_MISSING_HOST',
  DUPLICATE_HOST: 'GTS_ERR_HTTP_DUPLICATE_HOST',
  INVALID_HOST: 'GTS_ERR_HTTP_INVALID_HOST',
  INVALID_CONTENT_LENGTH: 'GTS_ERR_HTTP_INVALID_CONTENT_LENGTH',
  DUPLICATE_CONTENT_LENGTH: 'GTS_ERR_HTTP_DUPLICATE_CONTENT_LENGTH',
  CONTENT_LENGTH_WITH_TRANSFER_ENCODING: 'GTS_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING',
  TRANSFER_ENCODING_NOT_CHUNKED: 'GTS_ERR_HTTP_TRANSFER_ENCODING_NOT_CHUNKED',
  TRANSFER_ENCODING_IN_HTTP10: 'GTS_ERR_HTTP_TRANSFER_ENCODING_IN_HTTP10',
  INVALID_TRANSFER_ENCODING: 'GTS_ERR_HTTP_INVALID_TRANSFER_ENCODING',
  UNSUPPORTED_TRANSFER_CODING: 'GTS_ERR_HTTP_UNSUPPORTED_TRANSFER_CODING',
  INVALID_CHUNK_SIZE: 'GTS_ERR_HTTP_INVALID_CHUNK_SIZE',
  INVALID_CHUNK_EXTENSION: 'GTS_ERR_HTTP_INVALID_CHUNK_EXTENSION',
  INVALID_CHUNK_DELIMITER: 'GTS_ERR_HTTP_INVALID_CHUNK_DELIMITER',
  CHUNK_LINE_TOO_LONG: 'GTS_ERR_HTTP_CHUNK_LINE_TOO_LONG',
  EXPECTATION_FAILED: 'GTS_ERR_HTTP_EXPECTATION_FAILED',
  CONNECT_NOT_SUPPORTED: 'GTS_ERR_HTTP_CONNECT_NOT_SUPPORTED',
  METHOD_NOT_IMPLEMENTED: 'GTS_ERR_HTTP_METHOD_NOT_IMPLEMENTED',
  REQUEST_TIMEOUT: 'GTS_ERR_HTTP_REQUEST_TIMEOUT',
  INCOMPLETE_REQUEST: 'GTS_ERR_HTTP_INCOMPLETE_REQUEST',
  APP_ERROR: 'GTS_ERR_HTTP_APP_ERROR',
  RESPONSE_LENGTH_MISMATCH: 'GTS_ERR_HTTP_RESPONSE_LENGTH_MISMATCH',
  INVALID_RESPONSE_CONTENT_LENGTH: 'GTS_ERR_HTTP_INVALID_RESPONSE_CONTENT_LENGTH',
  INVALID_RESPONSE_STATUS: 'GTS_ERR_HTTP_INVALID_RESPONSE_STATUS',
} as const;

export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

/** Status answered and message used for each code: the entries of the core error table. */
export const HTTP_ERRORS: Readonly<Record<HttpErrorCode, HttpErrorSpec>> = errorTable;

/** A request we refuse: answered with `status` and a short body, then the connection closes. */
export class HttpProtocolError extends Error {
  readonly code: HttpErrorCode;
  readonly status: number;

  constructor(code: HttpErrorCode) {
    const entry = HTTP_ERRORS[code];
    super(entry.message);
    this.name = 'HttpProtocolError';
    this.code = code;
    this.status = entry.status;
  }
}

/** An error raised to application code (bad response headers, length mismatch). */
export class HttpResponseError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'HttpResponseError';
    this.code = code;
  }
}
