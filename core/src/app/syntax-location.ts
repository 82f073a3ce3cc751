/**
 * Where a syntax error in the app's code is. Node 20 gives a SyntaxError from an ES module
 * that import() loads no location: its stack names only Node's loader, so "Unexpected token"
 * was all a user saw of a typo in one of fifty files. `node --check FILE` prints the
 * location ("file:line", the line, a caret), so when an app fails so, the project's own files
 * in its static import graph (relative specifiers; installed packages are not the usual
 * suspects) are checked one by one, the entry first, until one fails. This runs only on the
 * failure path, bounded in files and time.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { findFile } from '../util/module-resolution.js';

const MAX_FILES = 200;
const BUDGET_MS = 5000;
const CHECKABLE = /\.(c|m)?js$/;
/** `from './x'`, `import './x'`, `import('./x')`, `export * from './x'`: the relative ones. */
const RELATIVE_IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*(['"])(\.{1,2}\/[^'"]+)\1/g;

/**
 * If `err` is a SyntaxError without a location, find the file and prepend Node's own
 * "file:line / code / caret" header to its stack, as Node does for an uncaught one.
 */
export function addSyntaxErrorLocation(err: unknown, entry: string): void {
  if (!(err instanceof SyntaxError) || hasLocation(err)) return;
  const header = locate(entry);
  if (header !== undefined) err.stack = `${header}\n\n${err.stack ?? String(err)}`;
}

function hasLocation(err: SyntaxError): boolean {
  return /\.(c|m)?[jt]sx?:\d+/.test(err.stack ?? '');
}

function locate(entry: string): string | undefined {
  const deadline = Date.now() + BUDGET_MS;
  const queue = [entry];
  const seen = new Set(queue);
  for (let i = 0; i < queue.length && i < MAX_FILES; i++) {
    const file = queue[i] as string;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return undefined;
    if (!CHECKABLE.test(file)) continue;
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const header = syntaxErrorHeader(file, source, remaining);
    if (header !== undefined) return header;
    for (const next of relativeImports(file, source)) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return undefined;
}

/**
 * The "file:line / code / caret" of `source`'s syntax error, or undefined when it parses as
 * Node would load it. The source goes in on stdin with an explicit --input-type: `node --check
 * x.js` passes a .js file with ES module syntax outside a "type": "module" package without
 * parsing it as a module. Such a file (Node detects it: CommonJS parsing fails, module parsing
 * is tried) is checked both ways and fails only if both do.
 */
function syntaxErrorHeader(file: string, source: string, timeout: number): string | undefined {
  const check = (inputType: 'module' | 'commonjs'): string | undefined => {
    const run = spawnSync(process.execPath, [`--input-type=${inputType}`, '--check'], { input: source, encoding: 'utf8', timeout });
    if (run.status === 0 || run.status === null) return undefined;
    const lines = run.stderr.split('\n');
    const at = lines.findIndex((line) => line.startsWith('SyntaxError'));
    const header = lines.slice(0, Math.max(at, 0)).join('\n').trim();
    return header === '' ? undefined : header.replace(/^\[stdin\]/, file);
  };
  const kind = moduleKind(file);
  if (kind !== 'detect') return check(kind);
  return check('commonjs') === undefined ? undefined : check('module');
}

function moduleKind(file: string): 'module' | 'commonjs' | 'detect' {
  if (file.endsWith('.mjs')) return 'module';
  if (file.endsWith('.cjs')) return 'commonjs';
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    try {
      const type = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown }).type;
      return type === 'module' ? 'module' : type === 'commonjs' ? 'commonjs' : 'detect';
    } catch {
      // no (readable) package.json here: look further up
    }
    if (dirname(dir) === dir) return 'detect';
  }
}

function relativeImports(file: string, source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(RELATIVE_IMPORT)) {
    const target = findFile(resolve(dirname(file), match[2] as string), []);
    if (target !== undefined) found.push(target);
  }
  return found;
}
