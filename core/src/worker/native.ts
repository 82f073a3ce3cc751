/**
 * The optional accept addon (core/native): pausable accepting on a shared listening fd, plus
 * the few syscalls Node does not expose (listen(2) without polling, getsockname on a bare fd,
 * getppid). Loaded lazily; `nativeAddon()` is undefined when it was not built, and callers fall
 * back to net.Server (which cannot pause accepting).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type SockName =
  | { readonly family: 4 | 6; readonly address: string; readonly port: number }
  | { readonly family: 'unix'; readonly path: string };

/** An opaque uv_poll handle owned by the addon. */
export type NativeAcceptorHandle = { readonly __brand: 'gts-acceptor' };

export interface NativeAddon {
  /** onAccept gets a connection fd with its peer (address undefined for a unix socket), or -errno. */
  create(fd: number, onAccept: (fdOrNegativeErrno: number, address: string | undefined, port: number | undefined) => void, batch: number): NativeAcceptorHandle;
  start(handle: NativeAcceptorHandle): void;
  stop(handle: NativeAcceptorHandle): void;
  close(handle: NativeAcceptorHandle): void;
  /**
   * One accept4() now: a connection fd (already given to the handle's onAccept), or -errno
   * (-EAGAIN when none is waiting).
   */
  acceptNow(handle: NativeAcceptorHandle): number;
  /** shutdown(fd, SHUT_WR) at once; false on error. */
  shutdownWrite(fd: number): boolean;
  /** TCP_CORK on (1) or off (0) for a connection; false if it is not TCP. */
  setCork(fd: number, on: 0 | 1): boolean;
  /** TCP_NODELAY on a listening socket, inherited by the connections accepted from it; false if not TCP. */
  inheritNoDelay(fd: number): boolean;
  listen(fd: number, backlog: number): void;
  closeFd(fd: number): void;
  sockname(fd: number): SockName;
  getppid(): number;
  /** A bound unix socket fd; closing it leaves the path alone (libuv's Pipe unlinks it). */
  bindUnix(path: string): number;
  /** An anonymous shared-memory file of `bytes` bytes (memfd, close-on-exec). */
  boardCreate(bytes: number): number;
  /** That file mapped shared (MAP_SHARED), as an ArrayBuffer; unmapped when collected. */
  boardMap(fd: number, bytes: number): ArrayBuffer;
  /**
   * From now on a QUIT or INT ends the process `graceMs` later (status 0) even if JavaScript
   * cannot run: a native thread with its own event loop watches the two signals.
   */
  armQuickExit(graceMs: number): void;
}

/** Where node-gyp puts the addon, relative to this file in core/dist/worker/. */
const ADDON_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release', 'gts_accept.node');

let cached: { addon: NativeAddon | undefined; reason: string } | undefined;

function load(): { addon: NativeAddon | undefined; reason: string } {
  if (process.env['GTS_NO_NATIVE_ACCEPT'] === '1') return { addon: undefined, reason: 'disabled by GTS_NO_NATIVE_ACCEPT=1' };
  if (!existsSync(ADDON_PATH)) return { addon: undefined, reason: `${ADDON_PATH} was not built` };
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as NativeAddon, reason: '' };
  } catch (err) {
    return { addon: undefined, reason: err instanceof Error ? err.message : String(err) };
  }
}

export function nativeAddon(): NativeAddon | undefined {
  cached ??= load();
  return cached.addon;
}

/** Why the addon is unavailable (for the one log line that says so). */
export function nativeAddonUnavailableReason(): string {
  cached ??= load();
  return cached.reason;
}
