/**
 * The master's pid file (Gunicorn's pidfile.Pidfile): written atomically (temp file + rename,
 * so a reader never sees a half-written pid), renamed to PIDFILE.oldbin on USR2 and back if the
 * new master dies, and removed on exit only while it still names this process.
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { gtsError } from '../errors.js';

export class Pidfile {
  private path: string;

  constructor(path: string, cwd: string = process.cwd()) {
    this.path = resolve(cwd, path);
  }

  get current(): string {
    return this.path;
  }

  /** Write our pid; refuse when the file names another live process. */
  create(pid: number): void {
    const other = this.validate();
    if (other !== undefined && other !== pid) throw gtsError('GTS_ERR_ALREADY_RUNNING', other, this.path);
    const temp = join(dirname(this.path), `.${basename(this.path)}.${pid}.tmp`);
    try {
      writeFileSync(temp, `${pid}\n`, { mode: 0o644 });
      renameSync(temp, this.path);
    } catch (err) {
      try {
        unlinkSync(temp);
      } catch {
        // Nothing was written.
      }
      throw gtsError('GTS_ERR_PIDFILE', this.path, (err as Error).message);
    }
  }

  /** Move the file (USR2 → PIDFILE.oldbin, and back). */
  rename(to: string): void {
    const target = resolve(dirname(this.path), to);
    try {
      renameSync(this.path, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw gtsError('GTS_ERR_PIDFILE', this.path, (err as Error).message);
    }
    this.path = target;
  }

  /** Remove the file, but only if it still names us (a new master may own the name now). */
  unlink(pid: number): void {
    if (this.read() !== pid) return;
    try {
      unlinkSync(this.path);
    } catch {
      // Already removed.
    }
  }

  /** The pid in the file if that process is alive, else undefined (a stale file). */
  validate(): number | undefined {
    const pid = this.read();
    if (pid === undefined) return undefined;
    try {
      process.kill(pid, 0);
      return pid;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
    }
  }

  private read(): number | undefined {
    try {
      const pid = Number(readFileSync(this.path, 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }
}
