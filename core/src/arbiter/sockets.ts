/**
 * The master's listening sockets (Gunicorn's sock.py): bound once, before any worker starts,
 * and inherited by every worker as a spawn stdio slot. The master puts a socket in LISTEN
 * state (with the native addon) but never polls it, so it never accepts: the workers do, each
 * only while it has capacity, and the kernel queue holds a connection for whichever is free.
 *
 * Addresses: HOST, HOST:PORT, [IPV6]:PORT, unix:PATH, fd://N. Sockets passed by systemd
 * (LISTEN_FDS/LISTEN_PID) or by an old master on USR2 (GUNICORN_FD) are used instead of binding.
 */
import { lookup } from 'node:dns/promises';
import { chownSync, lstatSync, unlinkSync } from 'node:fs';
import { isIP } from 'node:net';
import { constants } from 'node:os';
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { getSystemErrorName } from 'node:util';
import { GtsError, gtsError, isGtsError } from '../errors.js';
import type { Settings } from '../settings/settings.js';
import { nativeAddon } from '../worker/native.js';
import { INHERITED_FDS_ENV } from './messages.js';

/** The libuv TCP/Pipe handle net._createServerHandle returns (what node:cluster's master holds). */
interface ServerHandle {
  readonly fd: number;
  close(): void;
  getsockname?(out: Record<string, unknown>): number;
}

type CreateServerHandle = (address: string | null, port: number, addressType: number, fd?: number, flags?: number) => ServerHandle | number;

/** Undocumented but stable since Node 0.x: binds without listening, exactly what a master needs. */
const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;

/** libuv's UV_TCP_IPV6ONLY: an [::] socket must not also take IPv4, so both can be bound. */
const UV_TCP_IPV6ONLY = 1;
const DEFAULT_PORT = 8000;
const SD_LISTEN_FDS_START = 3;

export class Listener {
  private closed = false;

  constructor(
    /** The bind string, e.g. "127.0.0.1:8000" or "unix:/tmp/app.sock". */
    readonly address: string,
    /** How "Listening at:" shows it: "http://127.0.0.1:8000" or "unix:/tmp/app.sock". */
    readonly url: string,
    readonly kind: 'tcp' | 'unix',
    private readonly handle: ServerHandle,
    /** The unix socket file this process created, removed on a final shutdown. */
    readonly path: string | undefined,
  ) {}

  get fd(): number {
    return this.handle.fd;
  }

  /** Close this process's copy; with `unlink`, also remove the unix socket file. */
  close(unlink: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
    if (unlink && this.path !== undefined) {
      try {
        unlinkSync(this.path);
      } catch {
        // Already gone: nothing to clean up.
      }
    }
  }

  toString(): string {
    return this.url;
  }
}

/** Where this master's sockets come from, besides the bind addresses. */
export interface SocketSources {
  /** systemd socket activation: LISTEN_FDS fds from 3 when LISTEN_PID is us. */
  readonly systemdFds: readonly number[];
  /** An old master's fds after USR2. */
  readonly inheritedFds: readonly number[];
}

/** Read (and unset, as sd_listen_fds does) the environment that passes sockets in. */
export function takeSocketSources(env: NodeJS.ProcessEnv): SocketSources {
  let systemdFds: number[] = [];
  const listenPid = Number(env['LISTEN_PID'] ?? 0);
  const listenFds = Number(env['LISTEN_FDS'] ?? 0);
  if (listenPid === process.pid && Number.isInteger(listenFds) && listenFds > 0) {
    systemdFds = Array.from({ length: listenFds }, (_, i) => SD_LISTEN_FDS_START + i);
  }
  delete env['LISTEN_PID'];
  delete env['LISTEN_FDS'];
  const inherited = env[INHERITED_FDS_ENV];
  delete env[INHERITED_FDS_ENV];
  const inheritedFds = inherited === undefined || inherited.trim() === '' ? [] : inherited.split(',').map((s) => Number(s.trim()));
  if (inheritedFds.some((fd) => !Number.isInteger(fd) || fd < 0)) throw gtsError('GTS_ERR_BIND', `${INHERITED_FDS_ENV}=${inherited}`, 'not a list of file descriptors');
  return { systemdFds, inheritedFds };
}

/**
 * At start, an address in use is tried again, as Gunicorn does ("Retrying in 1 second.", five
 * tries): the previous server of a quick restart may still be letting go of it.
 */
export interface BindRetry {
  readonly attempts: number;
  readonly delayMs: number;
  /** Before each wait: say so in the log. */
  readonly onAddressInUse: (address: string) => void;
}

/**
 * Bind every configured address (or adopt the passed fds) and put each in LISTEN state.
 * An address that one of `current` (a HUP's old listeners) already holds keeps that socket:
 * binding it again would fail with EADDRINUSE. On any failure, sockets bound here are closed
 * (not the kept ones) and GTS_ERR_BIND names the address.
 */
export async function createListeners(
  settings: Settings,
  sources: SocketSources,
  current: readonly Listener[] = [],
  retry?: BindRetry,
): Promise<Listener[]> {
  const listeners: Listener[] = [];
  try {
    const binds = settings.get('bind');
    const fdBinds = binds.filter((b) => b.startsWith('fd://')).map((b) => Number(b.slice('fd://'.length)));
    const passed = sources.inheritedFds.length > 0 ? sources.inheritedFds : sources.systemdFds;
    if (passed.length > 0 || fdBinds.length > 0) {
      for (const fd of [...passed, ...fdBinds]) listeners.push(adoptFd(fd));
      // As Gunicorn: passed-in sockets replace the configured addresses.
      if (passed.length === 0) for (const address of binds.filter((b) => !b.startsWith('fd://'))) listeners.push(await bindRetrying(address, settings, retry));
    } else {
      for (const address of binds) listeners.push(current.find((l) => l.address === address) ?? (await bindRetrying(address, settings, retry)));
    }
    const backlog = settings.get('backlog');
    const addon = nativeAddon();
    for (const listener of listeners) {
      try {
        // listen(2) without polling: the kernel queues connections from now on, and only
        // workers accept. Without the addon each worker's net.Server does it on first listen.
        addon?.listen(listener.fd, backlog);
      } catch (err) {
        throw gtsError('GTS_ERR_BIND', listener.address, err instanceof Error ? err.message : String(err));
      }
    }
    return listeners;
  } catch (err) {
    for (const listener of listeners) if (!current.includes(listener)) listener.close(false);
    throw err;
  }
}

export function closeListeners(listeners: readonly Listener[], unlink: boolean): void {
  for (const listener of listeners) listener.close(unlink);
}

function uvError(code: number): string {
  try {
    return getSystemErrorName(code);
  } catch {
    return `error ${code}`;
  }
}

async function bindRetrying(address: string, settings: Settings, retry: BindRetry | undefined): Promise<Listener> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await bindAddress(address, settings);
    } catch (err) {
      if (retry === undefined || attempt >= retry.attempts || !isAddressInUse(err)) throw err;
      retry.onAddressInUse(address);
      await sleep(retry.delayMs);
    }
  }
}

async function bindAddress(address: string, settings: Settings): Promise<Listener> {
  if (address.startsWith('unix:')) return bindUnix(address, address.slice('unix:'.length), settings);
  const { host, port } = splitHostPort(address);
  let ip = host;
  let family = isIP(host);
  if (family === 0) {
    try {
      const found = await lookup(host);
      ip = found.address;
      family = found.family;
    } catch (err) {
      throw gtsError('GTS_ERR_BIND', address, `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  const handle = family === 6 ? createServerHandle(ip, port, 6, undefined, UV_TCP_IPV6ONLY) : createServerHandle(ip, port, 4);
  if (typeof handle === 'number') throw bindError(address, handle);
  // libuv defers EADDRINUSE from bind() to listen(); an unbound socket reports port 0.
  const bound: Record<string, unknown> = {};
  if ((handle.getsockname?.(bound) ?? -1) !== 0 || bound['port'] === 0) {
    handle.close();
    throw bindError(address, -constants.errno.EADDRINUSE);
  }
  return new Listener(address, tcpUrl(handle, ip, port), 'tcp', handle, undefined);
}

/** GTS_ERR_BIND for a failed bind(2)/listen(2); its cause carries the errno name (see isAddressInUse). */
function bindError(address: string, code: number): GtsError {
  const name = uvError(code);
  return new GtsError('GTS_ERR_BIND', [address, describeBindError(code)], { cause: Object.assign(new Error(name), { code: name }) });
}

function isAddressInUse(err: unknown): boolean {
  return isGtsError(err, 'GTS_ERR_BIND') && (err.cause as { code?: unknown } | undefined)?.code === 'EADDRINUSE';
}

function describeBindError(code: number): string {
  const name = uvError(code);
  const meaning: Record<string, string> = {
    EADDRINUSE: 'address already in use',
    EADDRNOTAVAIL: 'address not available on this machine',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'no such directory',
  };
  return meaning[name] === undefined ? name : `${name} (${meaning[name]})`;
}

export function splitHostPort(address: string): { host: string; port: number } {
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    const host = address.slice(1, close);
    const rest = address.slice(close + 1);
    return { host, port: rest.startsWith(':') ? Number(rest.slice(1)) : DEFAULT_PORT };
  }
  const colon = address.lastIndexOf(':');
  if (colon < 0) return { host: address, port: DEFAULT_PORT };
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

function tcpUrl(handle: ServerHandle, ip: string, port: number): string {
  const out: Record<string, unknown> = {};
  const err = handle.getsockname?.(out) ?? -1;
  const host = err === 0 && typeof out['address'] === 'string' ? out['address'] : ip;
  const actualPort = err === 0 && typeof out['port'] === 'number' ? out['port'] : port;
  return isIP(host) === 6 ? `http://[${host}]:${actualPort}` : `http://${host}:${actualPort}`;
}

function bindUnix(address: string, path: string, settings: Settings): Listener {
  removeStaleSocket(address, path);
  const previous = process.umask(settings.get('umask'));
  let handle: ServerHandle | number;
  const addon = nativeAddon();
  try {
    if (addon !== undefined) {
      // Bound by the addon and wrapped by fd, so closing our copy (USR2's old master, a HUP
      // rebind) never unlinks a path another master still serves; we unlink it ourselves.
      let fd: number;
      try {
        fd = addon.bindUnix(path);
      } catch (err) {
        throw bindError(address, (err as { errno?: number }).errno ?? -1);
      }
      handle = createServerHandle(null, 0, -1, fd);
    } else {
      handle = createServerHandle(path, -1, -1);
    }
  } finally {
    process.umask(previous);
  }
  if (typeof handle === 'number') throw bindError(address, handle);
  const uid = settings.get('user');
  const gid = settings.get('group');
  if (uid !== null || gid !== null) {
    try {
      // As Gunicorn: the socket belongs to the user the workers run as.
      chownSync(path, uid ?? process.getuid?.() ?? -1, gid ?? process.getgid?.() ?? -1);
    } catch (err) {
      handle.close();
      throw gtsError('GTS_ERR_BIND', address, `chown: ${(err as Error).message}`);
    }
  }
  return new Listener(address, `unix:${path}`, 'unix', handle, path);
}

/** A socket file left by a crashed server is replaced; any other file is an error. */
function removeStaleSocket(address: string, path: string): void {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw gtsError('GTS_ERR_BIND', address, `${path} exists and is not a socket`);
  unlinkSync(path);
}

/** Wrap an inherited listening fd (fd://N, systemd, USR2) so it can be named and closed. */
function adoptFd(fd: number): Listener {
  const address = `fd://${fd}`;
  const addon = nativeAddon();
  let name: ReturnType<NonNullable<typeof addon>['sockname']> | undefined;
  if (addon !== undefined) {
    try {
      name = addon.sockname(fd);
    } catch (err) {
      throw gtsError('GTS_ERR_BIND', address, `not a socket: ${(err as Error).message}`);
    }
  }
  // Port 0 with an fd: wrap only (no bind); any other port trips an assertion in net.
  const handle = createServerHandle(null, 0, -1, fd);
  if (typeof handle === 'number') throw gtsError('GTS_ERR_BIND', address, `not a listening socket (${uvError(handle)})`);
  if (name?.family === 'unix') return new Listener(address, `unix:${name.path}`, 'unix', handle, undefined);
  if (name !== undefined) return new Listener(address, name.family === 6 ? `http://[${name.address}]:${name.port}` : `http://${name.address}:${name.port}`, 'tcp', handle, undefined);
  const isTcp = typeof handle.getsockname === 'function';
  return isTcp ? new Listener(address, tcpUrl(handle, '0.0.0.0', 0), 'tcp', handle, undefined) : new Listener(address, `unix:${address}`, 'unix', handle, undefined);
}
