/**
 * A CLI target: the real `gunicorn-ts -w 1 -k <class> -b 127.0.0.1:0 ... cli-app.js:app`, its
 * TargetOptions turned into the settings a user would pass. One worker, so that GET /count and
 * the access log's pid describe the one process that serves.
 *
 * - Ready: "Listening at" gives the port; then a probe connection must be answered, with a
 *   deadline (connections queue in the kernel until the worker accepts).
 * - App errors: the error log is the process's stderr, captured.
 * - Access log: --access-logfile in a temp dir, in TEST_ACCESS_LOG_FORMAT.
 * - Drain: SIGTERM to the worker, which drains like a worker under HUP or master TERM; the
 *   master replaces it, and ready() waits for the replacement.
 * - Stop: SIGQUIT to the master by PID, SIGKILL to it and its children if it outlives a
 *   deadline; the temp dir goes with it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { CORE_VERSION, DEFAULT_HTTP_PROTOCOL_OPTIONS, type HttpProtocolOptions, type TlsSettings } from '@gunicorn-ts/core';
import { childPids, REPO_ROOT, startCli, waitFor, type ServerProcess } from '../../support/index.js';
import { INVOCATIONS_FILE_ENV } from './invocations-file.js';
import { TEST_ACCESS_LOG_FORMAT, waitForEntry, type Target, type TargetOptions } from './target.js';

export type WorkerClassName = 'sync' | 'evented' | 'gthread';

const APP_SPEC = join(REPO_ROOT, 'test', 'dist', 'http', 'harness', 'cli-app.js') + ':app';
/** gthread runs the app on two threads, so that cases cross threads inside one worker. */
const GTHREAD_THREADS = 2;
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/** Seconds for a setting in whole seconds: a positive duration never rounds down to "off". */
function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

interface Settings {
  readonly args: string[];
  /** Settings that have no flag (secure_scheme_headers), for a JSON config file. */
  readonly config: Record<string, unknown>;
  readonly protocol: HttpProtocolOptions;
}

/** TargetOptions → command-line flags (and a config file), and the protocol they give. */
function settingsFor(workerClass: WorkerClassName, options: TargetOptions): Settings {
  const args: string[] = [];
  const config: Record<string, unknown> = {};
  const { tls: tlsSettings, ...protocolOptions } = options;
  const protocol: HttpProtocolOptions = { ...DEFAULT_HTTP_PROTOCOL_OPTIONS, serverHeader: `gunicorn-ts/${CORE_VERSION}` };
  for (const [name, value] of Object.entries(protocolOptions) as Array<[keyof HttpProtocolOptions, unknown]>) {
    switch (name) {
      case 'keepAlive':
        // keepalive 0 is the setting that turns keep-alive off.
        if (value === false) args.push('--keep-alive', '0');
        protocol.keepAlive = value as boolean;
        break;
      case 'keepAliveTimeoutMs':
        protocol.keepAliveTimeoutMs = seconds(value as number) * 1000;
        args.push('--keep-alive', String(seconds(value as number)));
        break;
      case 'headersTimeoutMs':
        protocol.headersTimeoutMs = seconds(value as number) * 1000;
        args.push('--header-timeout', String(seconds(value as number)));
        break;
      case 'bodyTimeoutMs':
        protocol.bodyTimeoutMs = seconds(value as number) * 1000;
        args.push('--body-timeout', String(seconds(value as number)));
        break;
      case 'limitRequestLine':
        protocol.limitRequestLine = value as number;
        args.push('--limit-request-line', String(value));
        break;
      case 'limitRequestFields':
        protocol.limitRequestFields = value as number;
        args.push('--limit-request-fields', String(value));
        break;
      case 'limitRequestFieldSize':
        protocol.limitRequestFieldSize = value as number;
        args.push('--limit-request-field-size', String(value));
        break;
      case 'forwardedAllowIps':
        protocol.forwardedAllowIps = value as HttpProtocolOptions['forwardedAllowIps'];
        args.push('--forwarded-allow-ips', value === '*' ? '*' : (value as readonly string[]).join(','));
        break;
      case 'secureSchemeHeaders':
        protocol.secureSchemeHeaders = value as Record<string, string>;
        config['secure_scheme_headers'] = value;
        break;
      default:
        throw new Error(`a CLI target cannot set ${name}`);
    }
  }
  if (tlsSettings !== undefined) args.push(...tlsArgs(tlsSettings));
  if (workerClass === 'sync' || protocol.keepAliveTimeoutMs === 0) protocol.keepAlive = false;
  if (workerClass === 'gthread') args.push('--threads', String(GTHREAD_THREADS));
  return { args, config, protocol };
}

function tlsArgs(settings: TlsSettings): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined || value === null) continue;
    const flag = { certfile: '--certfile', keyfile: '--keyfile', caCerts: '--ca-certs', certReqs: '--cert-reqs', ciphers: '--ciphers', sslVersion: '--ssl-version' }[name];
    if (flag === undefined) throw new Error(`a CLI target cannot set TLS ${name}`);
    args.push(flag, String(value));
  }
  return args;
}

/** The pid of the last worker booted after `drained` (after any, when undefined). */
function workerBootedAfter(server: ServerProcess, drained: number | undefined): number | undefined {
  const pids = [...server.output().matchAll(/Booting worker with pid: (\d+)/g)].map((match) => Number(match[1]));
  return (drained === undefined ? pids : pids.slice(pids.lastIndexOf(drained) + 1)).at(-1);
}

/**
 * Whether a worker answers a new connection: a response to GET /hello, or, over TLS, the
 * handshake (a server that requires a client certificate answers it with an alert, which
 * also shows that the worker accepted). False when nothing came within `timeoutMs`.
 */
function probe(port: number, secure: boolean, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answered: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const socket: net.Socket = secure
      ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => finish(true))
      : net.connect({ port, host: '127.0.0.1' }, () => socket.write('GET /hello HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n'));
    socket.on('data', () => finish(true));
    // Only a refusal means that nobody listens; a reset or an alert came from a worker.
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code !== 'ECONNREFUSED'));
  });
}

/** Equal for options that give the same command line (e.g. forwardedAllowIps '*' and ['*']). */
export function cliTargetKey(workerClass: WorkerClassName, options: TargetOptions): string {
  const { args, config } = settingsFor(workerClass, options);
  return JSON.stringify({ args, config });
}

export async function startCliTarget(workerClass: WorkerClassName, options: TargetOptions): Promise<Target> {
  const { args, config, protocol } = settingsFor(workerClass, options);
  const dir = mkdtempSync(join(tmpdir(), `gts-http-${workerClass}-`));
  const accessLogFile = join(dir, 'access.log');
  if (Object.keys(config).length > 0) {
    const configFile = join(dir, 'gunicorn.conf.json');
    writeFileSync(configFile, JSON.stringify(config));
    args.push('-c', configFile);
  }
  const secure = options.tls !== undefined;
  // cwd is the temp dir and GUNICORN_TS_CMD_ARGS is emptied: no ./gunicorn.conf.js and no
  // flags from the test's environment change the settings under test.
  const server = startCli(
    ['-w', '1', '-k', workerClass, '-b', '127.0.0.1:0', '--access-logfile', accessLogFile, '--access-logformat', TEST_ACCESS_LOG_FORMAT, ...args, APP_SPEC],
    { cwd: dir, env: { [INVOCATIONS_FILE_ENV]: join(dir, 'invocations'), GUNICORN_TS_CMD_ARGS: '' } },
  );

  const stop = async (): Promise<void> => {
    if (!server.exited) {
      const children = childPids(server.pid);
      server.signal('SIGQUIT');
      try {
        await server.waitExit(STOP_TIMEOUT_MS);
      } catch {
        for (const pid of [server.pid, ...children]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  /** The worker that serves now; a drained one no longer counts. */
  let workerPid = 0;
  let drainedPid: number | undefined;
  const ready = async (): Promise<void> => {
    if (server.exited) throw new Error(`the ${workerClass} server exited:\n${server.output()}`);
    const booted = await waitFor(
      'a worker that is not draining',
      () => workerBootedAfter(server, drainedPid) ?? (server.exited ? -1 : undefined),
      START_TIMEOUT_MS,
    );
    if (booted === -1) throw new Error(`the ${workerClass} server exited:\n${server.output()}`);
    if (!(await probe(port, secure, START_TIMEOUT_MS))) throw new Error(`the ${workerClass} worker did not answer:\n${server.output()}`);
    workerPid = booted;
    drainedPid = undefined;
  };

  let port: number;
  try {
    const listening = await server.waitForLine(/Listening at: https?:\/\/127\.0\.0\.1:(\d+)/, START_TIMEOUT_MS);
    port = Number(listening[1]);
    await ready();
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    name: workerClass,
    host: '127.0.0.1',
    port,
    tls: secure,
    protocol,
    servingPid: () => workerPid,
    drain() {
      drainedPid = workerPid;
      process.kill(workerPid, 'SIGTERM');
    },
    ready: () => (drainedPid === undefined ? Promise.resolve() : ready()),
    waitForAppError: async (pattern, timeoutMs = 3000) => (await server.waitForLine(pattern, timeoutMs))[0],
    waitForAccessLog: (pattern, timeoutMs = 3000) =>
      waitForEntry('an access log line', () => readLines(accessLogFile), pattern, timeoutMs),
    stop,
  };
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}
