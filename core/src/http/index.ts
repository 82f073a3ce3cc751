/**
 * The HTTP/1.1 front shared by every worker class: a strict request parser, Node-compatible
 * req/res objects, keep-alive and graceful drain, TLS wrapping and Gunicorn's access log format.
 */
export { HttpConnection, type HttpSocket } from './connection.js';
export {
  DEFAULT_HTTP_PROTOCOL_OPTIONS,
  MAX_HEAD_BYTES,
  MAX_REQUEST_FIELDS,
  type HttpCallbacks,
  type HttpProtocolOptions,
  type RequestListener,
} from './options.js';
export { HttpRequest } from './request.js';
export { HttpResponse } from './response.js';
export {
  DEFAULT_ACCESS_LOG_FORMAT,
  compileAccessLogFormat,
  formatAccessLog,
  formatLogTime,
  type AccessLogFormatter,
  type AccessLogInfo,
} from './access-log.js';
export { HTTP_ERRORS, HttpErrorCode, HttpProtocolError, HttpResponseError } from './errors.js';
export {
  TlsConfigError,
  createTlsContext,
  resolveTlsVersionFloor,
  wrapTlsSocket,
  type TlsServerContext,
  type TlsSettings,
} from './tls.js';
export { SchemeResolver, normalizeIp } from './scheme.js';
