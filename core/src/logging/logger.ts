/**
 * The logger contract, as Gunicorn's glogging.Logger: an error log with five levels, an access
 * log, and reopening of files on USR1. A logger_class plugin implements it (usually by extending
 * GLogger). Messages take util.format-style arguments, as Gunicorn's take %-style ones.
 */
import type { AccessLogInfo } from '../http/access-log.js';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'critical';

export interface Logger {
  /** Open files and sockets. Called once after construction (constructors have no side effects). */
  setup(): void | Promise<void>;
  critical(msg: string, ...args: unknown[]): void;
  error(msg: string, ...args: unknown[]): void;
  warning(msg: string, ...args: unknown[]): void;
  info(msg: string, ...args: unknown[]): void;
  debug(msg: string, ...args: unknown[]): void;
  /** An error with its stack, at error level (Gunicorn's log.exception). */
  exception(err: unknown, msg?: string, ...args: unknown[]): void;
  /**
   * Whether a message at `level` would be written (Python logging's isEnabledFor). Optional:
   * without it, the `loglevel` setting is taken to decide.
   */
  isEnabledFor?(level: LogLevel): boolean;
  /** One access log line for a finished request; a no-op when no access log is configured. */
  access(info: AccessLogInfo): void;
  /** Reopen log files (USR1), so logrotate can move them away. */
  reopenFiles(): void;
  /** Flush and close; called once before the process exits. */
  close(): Promise<void>;
}
