/**
 * The default logger (logger_class "glogging", alias "simple"), built on pino. The error log is
 * one line per event in Gunicorn's shape, `[2026-11-24 08:11:39 +0000] [1234] [INFO] message`,
 * written synchronously so nothing is lost when a process exits. The access log is written
 * buffered through its own sonic-boom destination, one preformatted line per request. Both
 * reopen on USR1 (reopenFiles), for logrotate.
 */
import { chownSync, closeSync, openSync, readFileSync } from 'node:fs';
import { format } from 'node:util';
import pino, { type DestinationStream, type Logger as PinoLogger, type LoggerOptions } from 'pino';
import { inject, injectable, TOKENS } from '../container.js';
import { gtsError } from '../errors.js';
import { compileAccessLogFormat, type AccessLogInfo } from '../http/access-log.js';
import type { Settings } from '../settings/settings.js';
import type { Logger, LogLevel } from './logger.js';

type SonicBoom = ReturnType<typeof pino.destination>;

const LEVEL_VALUES: Readonly<Record<LogLevel, number>> = { debug: 20, info: 30, warning: 40, error: 50, critical: 60 };
const LEVEL_LABELS: Readonly<Record<number, string>> = { 20: 'DEBUG', 30: 'INFO', 40: 'WARNING', 50: 'ERROR', 60: 'CRITICAL' };

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `2026-11-24 08:11:39 +0000`, Gunicorn's error log date format (local time with offset). */
export function formatLogDate(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/**
 * Open a log target: "-" is stderr, anything else a file (created, appended to). The file is
 * opened once here, synchronously, so that a path that cannot be a log (a directory, no
 * permission) stops the start with one line naming the setting. Started as root with -u/-g,
 * the file is given to that user, as Gunicorn does, so that workers can reopen it on USR1. A
 * later write or reopen error is reported on stderr, never an unhandled 'error' event.
 */
function openDestination(target: string, sync: boolean, setting: string, settings: Settings): SonicBoom {
  if (target === '-') return pino.destination({ dest: 2, sync });
  try {
    createForWorkers(target, settings);
  } catch (err) {
    throw gtsError('GTS_ERR_INVALID_SETTING', setting, `cannot write to ${target}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const destination = pino.destination({ dest: target, sync, append: true });
  // SonicBoom's flushSync retries a failing write (ENOSPC, EIO) forever, synchronously, and
  // pino calls it on process exit for buffered destinations: a process whose log disk is full
  // could never exit. While writes fail, flushSync does nothing; a write that succeeds ends that.
  let failing = false;
  destination.on('error', (err: Error) => {
    failing = true;
    process.stderr.write(`gunicorn-ts: log file ${target}: ${err.message}\n`);
  });
  destination.on('write', () => (failing = false));
  const flushSync = destination.flushSync.bind(destination);
  destination.flushSync = () => {
    if (!failing) flushSync();
  };
  return destination;
}

/** How long close() lets buffered lines reach their file. */
const CLOSE_FLUSH_MS = 500;

/**
 * Let what a destination still holds reach its file, for at most `ms`: asynchronously, so a
 * write that keeps failing cannot hold the process (see openDestination). SonicBoom has no
 * public "busy" flag; `_writing` and `_len` are its own (sonic-boom 4).
 */
function settle(destination: SonicBoom, ms: number): Promise<void> {
  const state = destination as unknown as { _writing: boolean; _len: number };
  if (!state._writing && state._len === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      destination.off('drain', done);
      destination.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    destination.on('drain', done);
    destination.on('error', done);
    // After a failed write nothing is in flight: start writing what is left (or fail again).
    if (!state._writing) destination.flush();
  });
}

/**
 * USR1 after logrotate moved the file away. The master (before it signals its workers) creates
 * the new file and, started as root with -u/-g, gives it to the workers' user: a worker could
 * neither create it in a directory of root's nor open one root created.
 */
function reopenDestination(destination: SonicBoom | undefined, target: string, settings: Settings): void {
  if (destination === undefined) return;
  try {
    createForWorkers(target, settings);
  } catch {
    // A worker without the right to create it: the master has, or the reopen reports why.
  }
  try {
    destination.reopen();
  } catch {
    // A sync destination throws what it cannot open (a worker that dropped privileges and may
    // not enter the log's directory), and also emits it as 'error', which openDestination
    // reports on stderr. It keeps writing to the file it had: a worker must not die of a
    // logrotate.
  }
}

/** Create the file if missing (throws if it cannot be written) and, as root with -u/-g, give it to that user. */
function createForWorkers(path: string, settings: Settings): void {
  closeSync(openSync(path, 'a'));
  const uid = settings.get('user');
  const gid = settings.get('group');
  if ((uid === null && gid === null) || process.getuid?.() !== 0) return;
  try {
    chownSync(path, uid ?? -1, gid ?? -1);
  } catch {
    // /dev/null and the like: nothing to give.
  }
}

type LogConfigOptions = Pick<LoggerOptions<'warning' | 'critical'>, 'level' | 'msgPrefix' | 'enabled'>;

const PINO_LEVELS: ReadonlySet<unknown> = new Set(['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'critical', 'silent']);

/** The pino options logconfig may set, each with its check. */
const LOGCONFIG_OPTIONS: Readonly<Record<string, { valid: (value: unknown) => boolean; expected: string }>> = {
  level: { valid: (value) => PINO_LEVELS.has(value), expected: `one of ${[...PINO_LEVELS].join(', ')}` },
  msgPrefix: { valid: (value) => typeof value === 'string', expected: 'a string' },
  enabled: { valid: (value) => typeof value === 'boolean', expected: 'true or false' },
};

@injectable()
export class GLogger implements Logger {
  static readonly meta = { name: 'glogging' };

  protected pino: PinoLogger<'warning' | 'critical'> | undefined;
  protected errorDestination: SonicBoom | undefined;
  protected accessDestination: SonicBoom | undefined;
  protected formatAccess: ((info: AccessLogInfo) => string) | undefined;

  constructor(@inject(TOKENS.Settings) protected readonly settings: Settings) {}

  setup(): void {
    const errorlog = this.settings.get('errorlog');
    this.errorDestination = openDestination(errorlog, true, 'errorlog (--error-logfile)', this.settings);
    const destination = this.errorDestination;
    const lineStream: DestinationStream = {
      write: (json: string) => {
        destination.write(this.toLine(json));
      },
    };
    const logConfig = this.pinoOptionsFromLogConfig();
    this.pino = pino<'warning' | 'critical'>(
      {
        ...logConfig,
        // As in Gunicorn, the logging config file has the last word over loglevel.
        level: logConfig.level ?? this.settings.get('loglevel'),
        customLevels: { warning: LEVEL_VALUES.warning, critical: LEVEL_VALUES.critical },
        base: { pid: process.pid },
      },
      lineStream,
    );
    const accesslog = this.settings.get('accesslog');
    if (accesslog !== null) {
      this.accessDestination = openDestination(accesslog, false, 'accesslog (--access-logfile)', this.settings);
      this.formatAccess = compileAccessLogFormat(this.settings.get('access_log_format'));
    }
  }

  /**
   * logconfig: a JSON object of the pino options that still make sense under the Gunicorn line
   * format this logger writes (LOGCONFIG_OPTIONS). Any other (timestamp, messageKey,
   * transport, ...) would break that format or bypass its destination, so it is refused with
   * the option named, at start and by --check-config.
   */
  private pinoOptionsFromLogConfig(): LogConfigOptions {
    const path = this.settings.get('logconfig');
    if (path === null) return {};
    const invalid = (reason: string): Error => gtsError('GTS_ERR_INVALID_SETTING', 'logconfig (--log-config)', `${path}: ${reason}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw invalid(err instanceof Error ? err.message : String(err));
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid('not a JSON object of pino options');
    const options = parsed as Record<string, unknown>;
    for (const [name, value] of Object.entries(options)) {
      const check = LOGCONFIG_OPTIONS[name];
      if (check === undefined) {
        throw invalid(`option ${JSON.stringify(name)} is not supported (supported: ${Object.keys(LOGCONFIG_OPTIONS).join(', ')}); the lines keep Gunicorn's format`);
      }
      if (!check.valid(value)) throw invalid(`option ${JSON.stringify(name)} must be ${check.expected}, not ${JSON.stringify(value)}`);
    }
    return options as LogConfigOptions;
  }

  isEnabledFor(level: LogLevel): boolean {
    return this.pino?.isLevelEnabled(level) ?? true;
  }

  /** pino hands us its JSON line; we print it in Gunicorn's shape. */
  protected toLine(json: string): string {
    const record = JSON.parse(json) as { level: number; time: number; pid: number; msg?: string };
    const label = LEVEL_LABELS[record.level] ?? String(record.level);
    return `[${formatLogDate(new Date(record.time))}] [${record.pid}] [${label}] ${record.msg ?? ''}\n`;
  }

  protected log(level: LogLevel, msg: string, args: unknown[]): void {
    if (this.pino === undefined) {
      // Before setup (or after a failed one) a message still reaches stderr rather than vanishing.
      process.stderr.write(`[${formatLogDate(new Date())}] [${process.pid}] [${level.toUpperCase()}] ${format(msg, ...args)}\n`);
      return;
    }
    this.pino[level](args.length === 0 ? msg : format(msg, ...args));
  }

  critical(msg: string, ...args: unknown[]): void {
    this.log('critical', msg, args);
  }
  error(msg: string, ...args: unknown[]): void {
    this.log('error', msg, args);
  }
  warning(msg: string, ...args: unknown[]): void {
    this.log('warning', msg, args);
  }
  info(msg: string, ...args: unknown[]): void {
    this.log('info', msg, args);
  }
  debug(msg: string, ...args: unknown[]): void {
    this.log('debug', msg, args);
  }

  exception(err: unknown, msg = 'Error', ...args: unknown[]): void {
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    this.log('error', `${format(msg, ...args)}\n${detail}`, []);
  }

  access(info: AccessLogInfo): void {
    if (this.accessDestination === undefined || this.formatAccess === undefined) return;
    this.accessDestination.write(`${this.formatAccess(info)}\n`);
  }

  /** Whether an access log is configured (workers skip building access info when it is not). */
  get accessLogEnabled(): boolean {
    return this.accessDestination !== undefined;
  }

  reopenFiles(): void {
    const errorlog = this.settings.get('errorlog');
    const accesslog = this.settings.get('accesslog');
    if (errorlog !== '-') reopenDestination(this.errorDestination, errorlog, this.settings);
    if (accesslog !== null && accesslog !== '-') reopenDestination(this.accessDestination, accesslog, this.settings);
  }

  async close(): Promise<void> {
    const destinations = [this.accessDestination, this.errorDestination].filter((d) => d !== undefined);
    await Promise.all(destinations.map((d) => settle(d, CLOSE_FLUSH_MS)));
  }
}
