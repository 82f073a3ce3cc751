/**
 * Validators turn a raw value (a CLI string, or any value from a config file) into the typed
 * value a setting holds, or throw a SettingValueError with a reason a user can act on.
 * The registry adds the setting's name and flags to the reason, so reasons never repeat them.
 */
import { isIP } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';

export class SettingValueError extends Error {
  override name = 'SettingValueError';
}

const show = (raw: unknown): string => (typeof raw === 'string' ? JSON.stringify(raw) : String(raw));

/** As Gunicorn's validate_bool: a boolean, or the string "true" or "false" in any case. */
export function toBool(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const lower = raw.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  throw new SettingValueError(`${show(raw)} is not a boolean (true or false)`);
}

export function toInt(raw: unknown): number {
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return raw;
  if (typeof raw === 'string' && /^[+-]?\d+$/.test(raw.trim())) {
    const value = Number(raw.trim());
    if (Number.isSafeInteger(value)) return value;
  }
  throw new SettingValueError(`${show(raw)} is not an integer`);
}

export function intInRange(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return (raw: unknown): number => {
    const value = toInt(raw);
    if (value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
      throw new SettingValueError(`${value} is out of range (must be ${range})`);
    }
    return value;
  };
}

export const positiveInt = intInRange(1);
export const nonNegativeInt = intInRange(0);

export function toStr(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number') return String(raw);
  throw new SettingValueError(`${show(raw)} is not a string`);
}

export function nonEmptyStr(raw: unknown): string {
  const value = toStr(raw).trim();
  if (value === '') throw new SettingValueError('must not be empty');
  return value;
}

export function optionalStr(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  return toStr(raw);
}

/**
 * A directory that exists (chdir), made absolute: the master changes into it, then spawns
 * workers there, and each worker reads the settings again from inside it.
 */
export function existingDir(raw: unknown): string {
  const path = resolvePath(nonEmptyStr(raw));
  checkDirectory(path, raw);
  return path;
}

/** A directory that exists (worker_tmp_dir), or null. */
export function optionalExistingDir(raw: unknown): string | null {
  const path = optionalStr(raw);
  if (path === null) return null;
  checkDirectory(path, raw);
  return path;
}

function checkDirectory(path: string, raw: unknown): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    throw new SettingValueError(`${show(raw)} does not exist`);
  }
  if (!isDirectory) throw new SettingValueError(`${show(raw)} is not a directory`);
}

/** A list given either as an array (config file) or as one comma-separated string. */
export function toStrList(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map((item) => toStr(item).trim()).filter((s) => s !== '');
  if (typeof raw === 'string') return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  throw new SettingValueError(`${show(raw)} is not a list of strings`);
}

/** Repeatable flags (`-b A -b B`) arrive as arrays; a config file may give one string. */
export function toAppendList(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map((item) => toStr(item));
  if (typeof raw === 'string') return [raw];
  throw new SettingValueError(`${show(raw)} is not a string or a list of strings`);
}

export function oneOf<T extends string>(choices: readonly T[], caseInsensitive = true) {
  return (raw: unknown): T => {
    const value = toStr(raw).trim();
    const found = choices.find((c) => (caseInsensitive ? c.toLowerCase() === value.toLowerCase() : c === value));
    if (found === undefined) throw new SettingValueError(`${show(raw)} is not one of ${choices.join(', ')}`);
    return found;
  };
}

/** An IP allow-list: "*" or comma-separated IPv4/IPv6 addresses. */
export function ipAllowList(raw: unknown): string[] {
  const items = toStrList(raw);
  for (const item of items) {
    if (item !== '*' && isIP(item) === 0) throw new SettingValueError(`${show(item)} is not an IP address or "*"`);
  }
  return items;
}

export function stringDict(raw: unknown): Record<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SettingValueError(`${show(raw)} is not an object of header names to values`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) out[key.toUpperCase()] = toStr(value);
  return out;
}

export type HookFunction = (...args: never[]) => unknown;

/**
 * A hook called with `signature`'s arguments. Like Gunicorn, which checks a hook's arity, it
 * refuses a function that declares more parameters than it will get (a parameter past the
 * last would always be undefined: a signature from elsewhere, such as Gunicorn's
 * post_request(worker, req, environ, resp)); declaring fewer is fine in JavaScript.
 */
export function hookFunction(signature: string): (raw: unknown) => HookFunction | null {
  const params = signature.slice(signature.indexOf('(') + 1, signature.lastIndexOf(')')).split(',').map((p) => p.trim()).filter((p) => p !== '');
  return (raw) => {
    if (raw === null || raw === undefined) return null;
    if (typeof raw !== 'function') throw new SettingValueError(`${show(raw)} is not a function`);
    if (raw.length > params.length) {
      throw new SettingValueError(`the function declares ${raw.length} parameters, but it is called as ${signature}`);
    }
    return raw as HookFunction;
  };
}

/**
 * A umask: a number, or a string read as Python's int(value, 0) with Gunicorn's documented
 * leniency that "0022" means octal.
 */
export function umask(raw: unknown): number {
  let value: number;
  if (typeof raw === 'number' && Number.isInteger(raw)) value = raw;
  else if (typeof raw === 'string') {
    const s = raw.trim().toLowerCase();
    if (/^0x[0-9a-f]+$/.test(s)) value = parseInt(s.slice(2), 16);
    else if (/^0o[0-7]+$/.test(s)) value = parseInt(s.slice(2), 8);
    else if (/^0b[01]+$/.test(s)) value = parseInt(s.slice(2), 2);
    else if (/^0[0-7]+$/.test(s)) value = parseInt(s, 8);
    else if (/^\d+$/.test(s)) value = parseInt(s, 10);
    else throw new SettingValueError(`${show(raw)} is not a umask (e.g. 0, 0o22, 0022, 0x12)`);
  } else throw new SettingValueError(`${show(raw)} is not a umask`);
  if (value < 0 || value > 0o777) throw new SettingValueError(`${raw} is out of range (0 to 0o777)`);
  return value;
}

/** Node has no getpwnam(): a user or group name is looked up in /etc/passwd or /etc/group. */
function lookupId(database: '/etc/passwd' | '/etc/group', name: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(database, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields[2] !== undefined) return Number(fields[2]);
  }
  return undefined;
}

export function userId(raw: unknown): number | null {
  return accountId(raw, '/etc/passwd', 'user');
}

export function groupId(raw: unknown): number | null {
  return accountId(raw, '/etc/group', 'group');
}

const MAX_ACCOUNT_ID = 0xffff_fffe;

function accountId(raw: unknown, database: '/etc/passwd' | '/etc/group', what: string): number | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'number' || (typeof raw === 'string' && /^\d+$/.test(raw.trim()))) {
    const id = toInt(raw);
    // uid_t/gid_t are 32 bits and (uid_t)-1 means "no change" to setuid(2).
    if (id < 0 || id > MAX_ACCOUNT_ID) throw new SettingValueError(`${id} is not a valid ${what} id (0 to ${MAX_ACCOUNT_ID})`);
    return id;
  }
  const name = toStr(raw).trim();
  const id = lookupId(database, name);
  if (id === undefined) throw new SettingValueError(`no ${what} named ${show(name)} in ${database}`);
  return id;
}

/** One bind address, checked for shape; the arbiter resolves and binds it later. */
export function bindAddress(raw: unknown): string {
  // Gunicorn's parse_address drops a tcp:// prefix: tcp://HOST:PORT is HOST:PORT.
  const value = toStr(raw).trim().replace(/^tcp:\/\//i, '');
  if (value === '') throw new SettingValueError('empty address');
  if (value.startsWith('unix:')) {
    if (value.length === 5) throw new SettingValueError(`${show(value)} has no socket path`);
    return value;
  }
  if (value.startsWith('fd://')) {
    if (!/^fd:\/\/\d+$/.test(value)) throw new SettingValueError(`${show(value)} is not fd://N`);
    return value;
  }
  let host = value;
  let port: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) throw new SettingValueError(`${show(value)} has an unclosed [`);
    host = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new SettingValueError(`${show(value)} is not [HOST]:PORT`);
      port = rest.slice(1);
    }
    if (isIP(host) !== 6) throw new SettingValueError(`${show(host)} is not an IPv6 address`);
  } else {
    const colon = value.lastIndexOf(':');
    if (colon >= 0) {
      if (value.indexOf(':') !== colon) {
        throw new SettingValueError(`${show(value)}: write IPv6 addresses as [ADDRESS]:PORT`);
      }
      host = value.slice(0, colon);
      port = value.slice(colon + 1);
    }
    if (host === '' || !/^[A-Za-z0-9.-]+$/.test(host)) throw new SettingValueError(`${show(host)} is not a host name or IP address`);
  }
  if (port !== undefined && (!/^\d+$/.test(port) || Number(port) > 65535)) {
    throw new SettingValueError(`port ${show(port)} is not a number from 0 to 65535`);
  }
  return value;
}

export function bindList(raw: unknown): string[] {
  const list = toAppendList(raw);
  if (list.length === 0) throw new SettingValueError('at least one address is needed');
  return list.map(bindAddress);
}

/** KEY=VALUE pairs for --env. */
export function envPairs(raw: unknown): string[] {
  const list = toAppendList(raw);
  for (const item of list) {
    if (!/^[^=\s]+=/.test(item)) throw new SettingValueError(`${show(item)} is not KEY=VALUE`);
  }
  return list;
}

export function hostPort(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  const value = toStr(raw).trim();
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new SettingValueError(`${show(value)} is not HOST:PORT`);
  return value;
}

export function syslogAddress(raw: unknown): string {
  const value = toStr(raw).trim();
  if (/^unix:\/\/[^#]+(#(stream|dgram))?$/.test(value)) return value;
  if (/^(udp|tcp):\/\/(\[[^\]]+\]|[^:/]+)(:\d+)?$/.test(value)) return value;
  throw new SettingValueError(`${show(value)} is not unix://PATH[#stream|#dgram], udp://HOST:PORT or tcp://HOST:PORT`);
}

/** A setting that exists for Python only: any value other than its default is refused. */
export function refused(reason: string) {
  return (raw: unknown): null => {
    if (raw === null || raw === undefined || raw === false) return null;
    throw new SettingValueError(reason);
  };
}
