/**
 * Where the HTTP conformance cases send their bytes. Cases see a Target: an address, the
 * protocol options in effect, and ways to observe what only the server knows (app errors, the
 * access log, a graceful drain), never how the server runs (target-kinds.ts lists the kinds).
 */
import { waitFor } from '../../support/index.js';
import type { HttpProtocolOptions, TlsSettings } from '@gunicorn-ts/core';

export interface TargetOptions extends Partial<HttpProtocolOptions> {
  /** Serve HTTPS with these settings (certfile/keyfile...). */
  tls?: TlsSettings;
}

export interface Target {
  /** The kind's name: `in-process` or a worker class. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /**
   * The protocol options in effect. CLI targets round timeouts up to whole seconds (the
   * settings are in seconds) and never keep connections alive with the sync worker.
   */
  readonly protocol: Readonly<HttpProtocolOptions>;
  /** The pid of the process serving connections now (what the access log's %(p)s shows). */
  servingPid(): number;
  /**
   * Graceful drain of every connection, as a worker's TERM/HUP does: in-process,
   * HttpConnection.shutdown(); CLI, SIGTERM to the worker (the master then replaces it).
   */
  drain(): void;
  /** Resolves once new connections are served (after a drain: by the replacement worker). */
  ready(): Promise<void>;
  /** The first app error the server reported (code, message, stack) matching `pattern`. */
  waitForAppError(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The first access log line (in TEST_ACCESS_LOG_FORMAT) matching `pattern`. */
  waitForAccessLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export const TEST_SERVER_HEADER = 'gunicorn-ts/test';

/** Every access log atom, tab separated, so that a case can check each one. */
export const TEST_ACCESS_LOG_ATOMS = ['h', 'l', 'u', 't', 'r', 's', 'b', 'f', 'a', 'T', 'D', 'L', 'p', '{X-Log-Test}i', '{Content-Type}o'] as const;
export const TEST_ACCESS_LOG_FORMAT = TEST_ACCESS_LOG_ATOMS.map((atom) => `%(${atom})s`).join('\t');

/** An access log line in TEST_ACCESS_LOG_FORMAT, by atom. */
export function parseAccessLogLine(line: string): Record<(typeof TEST_ACCESS_LOG_ATOMS)[number], string> {
  const values = line.split('\t');
  if (values.length !== TEST_ACCESS_LOG_ATOMS.length) throw new Error(`not a test access log line: ${JSON.stringify(line)}`);
  return Object.fromEntries(TEST_ACCESS_LOG_ATOMS.map((atom, i) => [atom, values[i]!])) as Record<(typeof TEST_ACCESS_LOG_ATOMS)[number], string>;
}

/** The first entry matching `pattern`, polled until the deadline. */
export function waitForEntry(what: string, entries: () => readonly string[], pattern: RegExp, timeoutMs: number): Promise<string> {
  return waitFor(`${what} matching ${pattern}`, () => entries().find((entry) => pattern.test(entry)), timeoutMs);
}
