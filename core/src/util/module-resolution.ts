/**
 * Finding and importing user code (apps, config files, plugins) the way Node would from the
 * user's project, while recording every place looked at, so a failure can list them all.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** True when a module specifier names a file rather than a package. */
export function isPathSpecifier(specifier: string): boolean {
  return (
    specifier.startsWith('.') ||
    isAbsolute(specifier) ||
    /\.(c|m)?js$/.test(specifier) ||
    specifier.includes('/') && !specifier.startsWith('@') && existsSync(specifier)
  );
}

/**
 * Split `MODULE:EXPORT`. The module part may itself contain colons only in an absolute Windows
 * path, which we do not support, so the last colon separates them.
 */
export function splitModuleExport(spec: string): { module: string; exportName: string | undefined } {
  const colon = spec.lastIndexOf(':');
  if (colon <= 0) return { module: spec, exportName: undefined };
  return { module: spec.slice(0, colon), exportName: spec.slice(colon + 1) };
}

export interface PackageLocation {
  readonly dir: string;
  readonly manifest: PackageManifest;
}

export interface PackageManifest {
  readonly name?: string;
  readonly version?: string;
  readonly main?: string;
  readonly exports?: unknown;
  readonly peerDependencies?: Record<string, string>;
  readonly 'gunicorn-ts'?: Record<string, unknown>;
}

/** The directory a package name resolves to from `fromDir`, walking up node_modules as Node does. */
export function findPackage(name: string, fromDirs: readonly string[], tried: string[]): PackageLocation | undefined {
  for (const start of fromDirs) {
    let dir = resolve(start);
    for (;;) {
      const candidate = join(dir, 'node_modules', name, 'package.json');
      tried.push(candidate);
      if (existsSync(candidate)) {
        return { dir: dirname(candidate), manifest: JSON.parse(readFileSync(candidate, 'utf8')) as PackageManifest };
      }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return undefined;
}

/** The file a package's root import points to (exports "." import/default, else main, else index.js). */
export function packageEntry(location: PackageLocation): string {
  const target = rootExportTarget(location.manifest.exports) ?? location.manifest.main ?? 'index.js';
  return resolve(location.dir, target);
}

function rootExportTarget(exportsField: unknown): string | undefined {
  if (typeof exportsField === 'string') return exportsField;
  if (exportsField === null || typeof exportsField !== 'object') return undefined;
  const record = exportsField as Record<string, unknown>;
  const root = '.' in record ? record['.'] : record;
  return conditionTarget(root);
}

function conditionTarget(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  for (const condition of ['import', 'node', 'default', 'require']) {
    const target = conditionTarget(record[condition]);
    if (target !== undefined) return target;
  }
  return undefined;
}

/** A file path as given, or with a JS extension or /index.js, as Node's CommonJS lookup tries. */
export function findFile(base: string, tried: string[]): string | undefined {
  for (const candidate of [base, `${base}.js`, `${base}.mjs`, `${base}.cjs`, join(base, 'index.js')]) {
    tried.push(candidate);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not there: try the next form
    }
  }
  return undefined;
}

/**
 * Resolve a module specifier (a path or a package name) to a file, searching `searchDirs`
 * in order for packages; paths are relative to `cwd`.
 */
export function resolveModule(specifier: string, cwd: string, searchDirs: readonly string[], tried: string[]): string | undefined {
  if (isPathSpecifier(specifier)) return findFile(resolve(cwd, specifier), tried);
  const { packageName, subpath } = splitPackageSpecifier(specifier);
  const location = findPackage(packageName, searchDirs, tried);
  if (location === undefined) return undefined;
  if (subpath === '') return packageEntry(location);
  return findFile(join(location.dir, subpath), tried);
}

/**
 * The app's MODULE, found as Gunicorn finds a Python module on sys.path. An explicit path
 * (./x, ../x, /x) is relative to cwd. Any other name is looked for as a file in each search
 * dir in turn (pythonpath dirs, then cwd; hello finds hello.js), then as a package in
 * node_modules: Gunicorn puts cwd at the front of sys.path, so a project's own hello.py
 * shadows an installed hello package, and a local hello.js does the same here. A scoped name
 * (@scope/pkg) is only ever a package, app.js only ever a file.
 */
export function resolveAppModule(specifier: string, cwd: string, searchDirs: readonly string[], tried: string[]): string | undefined {
  if (isExplicitPath(specifier)) return findFile(resolve(cwd, specifier), tried);
  const asFile = (): string | undefined => {
    for (const dir of searchDirs) {
      const file = findFile(resolve(dir, specifier), tried);
      if (file !== undefined) return file;
    }
    return undefined;
  };
  const scoped = specifier.startsWith('@');
  const jsFile = !scoped && /\.(c|m)?js$/.test(specifier);
  // app.js is never a package name; @scope/pkg always is one.
  const asPackage = (): string | undefined => (jsFile ? undefined : resolveModule(specifier, cwd, searchDirs, tried));
  return scoped ? asPackage() : asFile() ?? asPackage();
}

function isExplicitPath(specifier: string): boolean {
  return isAbsolute(specifier) || specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../');
}

export function splitPackageSpecifier(specifier: string): { packageName: string; subpath: string } {
  const parts = specifier.split('/');
  const count = specifier.startsWith('@') ? 2 : 1;
  return { packageName: parts.slice(0, count).join('/'), subpath: parts.slice(count).join('/') };
}

export async function importFile(file: string): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}
