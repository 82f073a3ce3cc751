/**
 * Assertions shared by the conformance cases.
 */
import assert from 'node:assert/strict';
import type { Target } from './target.js';
import { exchange, header, WireClient, type ExchangeResult, type ParsedResponse } from './wire.js';

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** Every response we produce or pass through has these (RFC 9110 §6.6.1, §10.2.4). */
export function assertStandardHeaders(res: ParsedResponse): void {
  assert.equal(res.version, 'HTTP/1.1', 'we always answer HTTP/1.1');
  assert.match(header(res, 'date') ?? '', IMF_FIXDATE, 'Date in IMF-fixdate');
  assert.equal(res.headers.get('date')?.length, 1, 'one Date');
  assert.ok(header(res, 'server'), 'a Server header');
  assert.ok(!(res.headers.has('content-length') && res.headers.has('transfer-encoding')), 'never both CL and TE');
}

/**
 * The request is refused: exactly one response with `status`, then the server closes; nothing
 * after the bad request is answered (whatever was smuggled behind it).
 */
export async function expectRefused(target: Target, bytes: string | Buffer, status: number): Promise<ExchangeResult> {
  const result = await exchange(target.port, bytes, { timeoutMs: 2000 });
  assert.equal(result.responses.length, 1, `one response expected, got ${result.responses.map((r) => r.status).join(',') || 'none'}; rest ${JSON.stringify(result.rest.toString('latin1').slice(0, 200))}`);
  const res = result.responses[0]!;
  assert.equal(res.status, status, `status ${status} expected, got ${res.status} ${res.reason}`);
  assertStandardHeaders(res);
  assert.equal(header(res, 'connection'), 'close', 'error responses say Connection: close');
  assert.ok(result.closed, 'the server closes the connection after refusing');
  assert.equal(result.rest.length, 0, 'no bytes after the error response');
  return result;
}

/** Sends the bytes and returns the responses (the connection may stay open). */
export async function expectResponses(
  target: Target,
  bytes: string | Buffer,
  statuses: number[],
  methods?: string[],
): Promise<ExchangeResult> {
  const result = await exchange(target.port, bytes, { timeoutMs: 600, methods: methods ?? [] });
  assert.deepEqual(
    result.responses.map((r) => r.status),
    statuses,
    `statuses; rest ${JSON.stringify(result.rest.toString('latin1').slice(0, 200))}`,
  );
  for (const res of result.responses) assertStandardHeaders(res);
  return result;
}

/**
 * Pipelined requests (RFC 9112 §9.3.2). A keep-alive target answers every one, in order. A
 * target without keep-alive (the sync worker: one request per connection) answers the first
 * with `Connection: close`, sends nothing for the others and closes cleanly: that is its
 * contract, and a response to a later request would mean it read past the first one.
 */
export async function expectPipelined(
  target: Target,
  bytes: string | Buffer,
  statuses: number[],
  methods?: string[],
): Promise<ExchangeResult> {
  if (target.protocol.keepAlive) return expectResponses(target, bytes, statuses, methods);
  const result = await exchange(target.port, bytes, { timeoutMs: 2000, methods: methods ?? [] });
  assert.deepEqual(
    result.responses.map((r) => r.status),
    statuses.slice(0, 1),
    `without keep-alive only the first request is answered; rest ${JSON.stringify(result.rest.toString('latin1').slice(0, 200))}`,
  );
  assertStandardHeaders(result.responses[0]!);
  assert.equal(header(result.responses[0]!, 'connection'), 'close', 'without keep-alive every response says Connection: close');
  assert.ok(result.closed, 'the connection closes after the first response');
  assert.equal(result.rest.length, 0, 'no bytes after the first response');
  return result;
}

/** How many times the app has been invoked so far (GET /count counts itself). */
export async function appInvocations(target: Target): Promise<number> {
  const client = await WireClient.connect(target.port, target.host);
  try {
    client.write('GET /count HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n');
    const res = await client.readResponse();
    return Number(res.body.toString());
  } finally {
    client.destroy();
  }
}

/** Runs `fn` and asserts the app was not invoked by it. */
export async function assertAppNotCalled(target: Target, fn: () => Promise<unknown>): Promise<void> {
  const before = await appInvocations(target);
  await fn();
  const after = await appInvocations(target);
  assert.equal(after - before, 1, 'the app must not have been called (only the /count probe)');
}

export function json(res: ParsedResponse): Record<string, unknown> {
  return JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
}
