/**
 * --reload: watch the app's directory tree (outside node_modules and dot-directories) for
 * changes to code (CODE_EXTENSIONS) and call back once per burst of changes. Runs in the
 * master, which then replaces the workers the same way as on HUP; one watcher serves all
 * workers. Directories are watched one by one (inotify is per directory), so big trees under
 * node_modules cost nothing.
 */
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { extname, join } from 'node:path';

const DEBOUNCE_MS = 200;
const SKIPPED_DIRECTORIES = new Set(['node_modules']);
const MAX_DIRECTORIES = 2000;
/**
 * What counts as code: what Node loads as a module, and JSON an app imports. Gunicorn 19
 * watches only loaded modules. Before, any file counted, so a log written next to the app (by
 * the server, or by the shell's redirect) restarted the workers at every line, for ever.
 */
const CODE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.jsx', '.tsx', '.json', '.node', '.wasm']);

export class Reloader {
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private changed: string | undefined;

  constructor(private readonly onChange: (file: string) => void) {}

  watchTree(root: string): void {
    if (this.watchers.has(root)) return;
    this.addDirectory(root);
  }

  close(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private addDirectory(dir: string): void {
    if (this.watchers.has(dir) || this.watchers.size >= MAX_DIRECTORIES) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (event, name) => this.onEvent(dir, event, name));
    } catch {
      return; // Vanished or unreadable: nothing to watch.
    }
    watcher.on('error', () => {
      watcher.close();
      this.watchers.delete(dir);
    });
    this.watchers.set(dir, watcher);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory() && !SKIPPED_DIRECTORIES.has(entry.name) && !entry.name.startsWith('.')) this.addDirectory(join(dir, entry.name));
    }
  }

  private onEvent(dir: string, event: string, name: string | Buffer | null): void {
    if (name === null) return;
    const base = name.toString();
    if (base.startsWith('.') || SKIPPED_DIRECTORIES.has(base)) return;
    const file = join(dir, base);
    // A new directory appears as 'rename': watch it too.
    if (event === 'rename' && isDirectory(file)) this.addDirectory(file);
    if (!CODE_EXTENSIONS.has(extname(base).toLowerCase())) return;
    this.changed = file;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const changed = this.changed;
      this.changed = undefined;
      if (changed !== undefined) this.onChange(changed);
    }, DEBOUNCE_MS);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // Gone again.
  }
}
