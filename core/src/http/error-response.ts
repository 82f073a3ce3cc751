import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { httpDate } from './http-date.js';

/**
 * A complete response we produce ourselves (bad request, timeout, ...): always
 * `Connection: close`, a Date, our Server header and a short text body that never echoes input.
 * The answer to a HEAD has the same head and no body (RFC 9110 §9.3.2).
 */
export function buildErrorResponse(status: number, detail: string, serverHeader: string, forHead = false): string {
  const reason = STATUS_CODES[status] ?? 'Error';
  const body = errorResponseBody(status, detail);
  return (
    `HTTP/1.1 ${status} ${reason}\r\n` +
    `Server: ${serverHeader}\r\n` +
    `Date: ${httpDate()}\r\n` +
    'Connection: close\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    '\r\n' +
    (forHead ? '' : body)
  );
}

/**
 * The text of every answer the server gives in the app's place: the status line's words, then
 * what went wrong when that says more (e.g. "400 Bad Request\nChunk data not followed by CRLF\n").
 */
export function errorResponseBody(status: number, detail: string): string {
  const reason = STATUS_CODES[status] ?? 'Error';
  return detail === reason ? `${status} ${reason}\n` : `${status} ${reason}\n${detail}\n`;
}

/** Such an answer written through a response object: errorResponseBody, framed by its length. */
export function endWithErrorBody(res: ServerResponse, status: number, detail: string, headers: OutgoingHttpHeaders = {}): void {
  const body = errorResponseBody(status, detail);
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
