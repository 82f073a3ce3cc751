/**
 * Every error gunicorn-ts raises on purpose, in one table with a stable code.
 *
 * Codes are part of the public contract (scripts and tests match on them), so an entry is
 * never renamed; add a new one instead. `exitCode` is what the CLI exits with when the error
 * reaches the top level: 2 for usage errors (bad flag, bad setting), 3 when workers cannot
 * boot and 4 when the app cannot be loaded (Gunicorn's WORKER_BOOT_ERROR / APP_LOAD_ERROR),
 * 1 otherwise.
 */
import { format } from 'node:util';

interface ErrorSpec {
  readonly exitCode: number;
  readonly message: string;
}

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
  GTS_ERR_TLS: { exitCode: 2, message: 'TLS setup failed for %s: %s' },
  GTS_ERR_USER: { exitCode: 2, message: 'No such %s: %j' },
} as const satisfies Record<string, ErrorSpec>;

export type GtsErrorCode = keyof typeof table;

export class GtsError extends Error {
  readonly code: GtsErrorCode;
  readonly exitCode: number;

  constructor(code: GtsErrorCode, args: readonly unknown[], options?: { cause?: unknown }) {
    super(format(table[code].message, ...args), options);
    this.name = 'GtsError';
    this.code = code;
    this.exitCode = table[code].exitCode;
  }
}

/** `gtsError('GTS_ERR_BIND', addr, reason)`: the one way code in core builds an error. */
export function gtsError(code: GtsErrorCode, ...args: unknown[]): GtsError {
  return new GtsError(code, args);
}

export function isGtsError(value: unknown, code?: GtsErrorCode): value is GtsError {
  return value instanceof GtsError && (code === undefined || value.code === code);
}

/** The message of anything thrown, without a stack: what a one-line CLI error shows. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export const errorTable: Readonly<Record<GtsErrorCode, ErrorSpec>> = table;
