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
  REQUEST_TIMEOUT: 'GTS_ERR_HTTP_REQUEST_TIMEOUT',
  INCOMPLETE_REQUEST: 'GTS_ERR_HTTP_INCOMPLETE_REQUEST',
  APP_ERROR: 'GTS_ERR_HTTP_APP_ERROR',
  RESPONSE_LENGTH_MISMATCH: 'GTS_ERR_HTTP_RESPONSE_LENGTH_MISMATCH',
  INVALID_RESPONSE_CONTENT_LENGTH: 'GTS_ERR_HTTP_INVALID_RESPONSE_CONTENT_LENGTH',
} as const;

export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

interface ErrorEntry {
  readonly status: number;
  readonly message: string;
}

/** Status answered and message used for each code. */
export const HTTP_ERRORS: Readonly<Record<HttpErrorCode, ErrorEntry>> = {
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
};

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
