/**
 * The current parent pid. process.ppid is read once at startup in Node 20, so a re-executed
 * master could not tell that its old master exited (Gunicorn's "Master has been promoted")
 * without asking the kernel again.
 */
import { readFileSync } from 'node:fs';
import { nativeAddon } from '../worker/native.js';

export function currentParentPid(): number {
  const addon = nativeAddon();
  if (addon !== undefined) return addon.getppid();
  try {
    // /proc/self/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return process.ppid;
  }
}
