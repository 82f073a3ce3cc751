/**
 * One resolver for every plugin string (Gunicorn's util.load_class):
 * - a short name of a bundled plugin: `sync`, `gthread`, `statsd`;
 * - `egg:PKG#NAME`: the entry NAME that PKG declares in its package.json "gunicorn-ts" field,
 *   e.g. `{"gunicorn-ts": {"workers": {"gthread": "./dist/worker.js#GthreadWorker"}}}`;
 * - a package name: its declared "default" entry, else its only entry of the kind, else its
 *   default export; `PKG:EXPORT` takes a named export of the package's main module;
 * - a module path `./x.js:Export` (default export without `:Export`), relative to chdir.
 * Packages are looked up from the user's project first (pythonpath, then chdir), then from
 * where core itself is installed, so both third-party and bundled plugins are found.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appSearchPaths } from '../app/search-paths.js';
import { gtsError } from '../errors.js';
import type { Settings } from '../settings/settings.js';
import {
  findPackage,
  importFile,
  isPathSpecifier,
  packageEntry,
  resolveModule,
  splitModuleExport,
  type PackageLocation,
  type PackageManifest,
} from '../util/module-resolution.js';
import { BUILTIN_PLUGINS, BUNDLE_EGG, ENTRY_GROUPS, GUNICORN_SPELLINGS, KIND_LABELS, PYTHON_ONLY_WORKERS, type PluginKind } from './builtins.js';
import type { PluginMeta } from './plugin.js';

export interface ResolvedPlugin {
  /** The string as the user wrote it. */
  readonly spec: string;
  /** The exported class or object. */
  readonly value: unknown;
  /** The file it was loaded from. */
  readonly from: string;
  readonly meta: PluginMeta;
}

const CORE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CORE_MANIFEST = JSON.parse(readFileSync(resolve(CORE_DIR, 'package.json'), 'utf8')) as PackageManifest & { name: string; version: string };

/** The scope of the core and the plugins bundled with it (@gunicorn-ts/). */
const BUNDLED_SCOPE = `${CORE_MANIFEST.name.split('/')[0]}/`;

export const CORE_VERSION: string = CORE_MANIFEST.version;
export const CORE_PACKAGE_NAME: string = CORE_MANIFEST.name;

export interface ResolverOptions {
  /**
   * Check each plugin's core version range. A worker resolves the very strings its master
   * already checked, so it skips the check (and the semver module's memory).
   */
  readonly checkCompatibility: boolean;
}

export class PluginResolver {
  /** @param searchDirs where packages are looked up, in order (the core's own location is added last). */
  constructor(
    private readonly cwd: string,
    private readonly searchDirs: readonly string[],
    private readonly options: ResolverOptions = { checkCompatibility: true },
  ) {}

  static forSettings(settings: Settings, options?: ResolverOptions): PluginResolver {
    return new PluginResolver(settings.get('chdir'), appSearchPaths(settings), options);
  }

  async resolve(kind: PluginKind, spec: string): Promise<ResolvedPlugin> {
    const tried: string[] = [];
    const resolved = await this.resolveInto(kind, spec.trim(), tried);
    if (resolved === undefined) {
      // Search roots overlap (cwd's node_modules chain, then the core's): list each place once.
      throw gtsError('GTS_ERR_PLUGIN_NOT_FOUND', KIND_LABELS[kind], spec, [...new Set(tried)].map((t) => `  - ${t}`).join('\n'));
    }
    return { ...resolved, spec };
  }

  private async resolveInto(kind: PluginKind, spec: string, tried: string[]): Promise<Omit<ResolvedPlugin, 'spec'> | undefined> {
    if (spec === '') throw gtsError('GTS_ERR_PLUGIN_SPEC', spec, 'empty string');
    const gunicornSpelling = GUNICORN_SPELLINGS[kind][spec];
    if (gunicornSpelling !== undefined) return this.resolveInto(kind, gunicornSpelling, tried);
    if (kind === 'worker' && PYTHON_ONLY_WORKERS.has(spec)) {
      throw gtsError('GTS_ERR_PLUGIN_SPEC', spec, "it is one of Gunicorn's Python-only async workers; their Node analogue is -k evented");
    }
    const builtin = BUILTIN_PLUGINS[kind][spec];
    if (builtin !== undefined) return this.resolveInto(kind, builtin, tried);
    if (/^[a-z][a-z0-9_]*$/.test(spec)) {
      tried.push(bundledNames(kind));
    }
    if (spec.startsWith('egg:')) return this.resolveEgg(kind, spec, tried);
    const { module, exportName } = splitModuleExport(spec);
    if (isPathSpecifier(module)) {
      const file = resolveModule(module, this.cwd, [], tried);
      if (file === undefined) return undefined;
      return this.loadExport(kind, spec, file, exportName ?? 'default', undefined);
    }
    return this.resolvePackage(kind, spec, module, exportName, tried);
  }

  private async resolveEgg(kind: PluginKind, spec: string, tried: string[]): Promise<Omit<ResolvedPlugin, 'spec'> | undefined> {
    const match = /^egg:([^#]+)#(.+)$/.exec(spec);
    if (match === null) throw gtsError('GTS_ERR_PLUGIN_SPEC', spec, 'expected egg:PACKAGE#NAME');
    const [, packageName = '', entryName = ''] = match;
    if (packageName === BUNDLE_EGG) {
      const builtin = BUILTIN_PLUGINS[kind][entryName];
      if (builtin !== undefined) return this.resolveInto(kind, builtin, tried);
      tried.push(bundledNames(kind));
      return undefined;
    }
    const location = this.findPackage(packageName, tried);
    if (location === undefined) return undefined;
    const entries = this.entryGroup(location, kind);
    const target = entries[entryName];
    if (typeof target !== 'string') {
      tried.push(`${location.dir}/package.json "gunicorn-ts".${ENTRY_GROUPS[kind]}.${entryName} (declared: ${Object.keys(entries).join(', ') || 'none'})`);
      return undefined;
    }
    return this.loadEntryTarget(kind, spec, location, target, tried);
  }

  private async resolvePackage(
    kind: PluginKind,
    spec: string,
    packageName: string,
    exportName: string | undefined,
    tried: string[],
  ): Promise<Omit<ResolvedPlugin, 'spec'> | undefined> {
    const location = this.findPackage(packageName, tried);
    if (location === undefined) return undefined;
    if (exportName !== undefined) return this.loadExport(kind, spec, packageEntry(location), exportName, location);
    const field = location.manifest['gunicorn-ts'] ?? {};
    const declaredDefault = field['default'];
    if (typeof declaredDefault === 'string') return this.loadEntryTarget(kind, spec, location, declaredDefault, tried);
    const entries = Object.values(this.entryGroup(location, kind)).filter((t): t is string => typeof t === 'string');
    if (entries.length === 1 && entries[0] !== undefined) return this.loadEntryTarget(kind, spec, location, entries[0], tried);
    return this.loadExport(kind, spec, packageEntry(location), 'default', location);
  }

  private findPackage(name: string, tried: string[]): PackageLocation | undefined {
    // The core resolves its own entries (the default logger) from where it runs, never a copy.
    if (name === CORE_PACKAGE_NAME) return { dir: CORE_DIR, manifest: CORE_MANIFEST };
    // The bundled plugins (`sync` is one) come from beside the running core first, as
    // Gunicorn's `sync` is the running Gunicorn's: a copy in the project's node_modules would
    // extend another copy of the core's Worker. Other packages are the project's first.
    const dirs = name.startsWith(BUNDLED_SCOPE) ? [CORE_DIR, ...this.searchDirs] : [...this.searchDirs, CORE_DIR];
    return findPackage(name, dirs, tried);
  }

  private entryGroup(location: PackageLocation, kind: PluginKind): Record<string, unknown> {
    const group = location.manifest['gunicorn-ts']?.[ENTRY_GROUPS[kind]];
    return group !== null && typeof group === 'object' ? (group as Record<string, unknown>) : {};
  }

  /** An entry target is "./dist/file.js#Export" relative to the package. */
  private async loadEntryTarget(
    kind: PluginKind,
    spec: string,
    location: PackageLocation,
    target: string,
    tried: string[],
  ): Promise<Omit<ResolvedPlugin, 'spec'> | undefined> {
    // A package may ship before its code does (the bundled statsd, syslog and proxy-protocol
    // packages do): its "gunicorn-ts".unavailable says why, instead of a missing export.
    const unavailable = location.manifest['gunicorn-ts']?.['unavailable'];
    if (typeof unavailable === 'string') throw gtsError('GTS_ERR_PLUGIN_UNAVAILABLE', KIND_LABELS[kind], spec, `${unavailable} (${location.manifest.name ?? location.dir})`);
    const hash = target.indexOf('#');
    const file = resolve(location.dir, hash < 0 ? target : target.slice(0, hash));
    const exportName = hash < 0 ? 'default' : target.slice(hash + 1);
    tried.push(file);
    return this.loadExport(kind, spec, file, exportName, location);
  }

  private async loadExport(
    kind: PluginKind,
    spec: string,
    file: string,
    exportName: string,
    location: PackageLocation | undefined,
  ): Promise<Omit<ResolvedPlugin, 'spec'>> {
    let namespace: Record<string, unknown>;
    try {
      namespace = await importFile(file);
    } catch (err) {
      throw gtsError('GTS_ERR_PLUGIN_INVALID', KIND_LABELS[kind], spec, 'module', `${file} failed to load: ${(err as Error).message}`);
    }
    if (!(exportName in namespace) || namespace[exportName] === undefined) {
      const available = Object.keys(namespace).join(', ') || 'none';
      throw gtsError('GTS_ERR_PLUGIN_INVALID', KIND_LABELS[kind], spec, KIND_LABELS[kind], `${file} has no export "${exportName}" (exports: ${available})`);
    }
    const value = namespace[exportName];
    const meta = pluginMeta(value, location, spec);
    if (this.options.checkCompatibility) await checkCoreRange(meta);
    return { value, from: file, meta };
  }
}

function pluginMeta(value: unknown, location: PackageLocation | undefined, spec: string): PluginMeta {
  const own = (value as { meta?: Partial<PluginMeta> } | null)?.meta;
  const name = own?.name ?? location?.manifest.name ?? spec;
  const core = own?.core ?? location?.manifest.peerDependencies?.[CORE_PACKAGE_NAME];
  return core === undefined ? { name } : { name, core };
}

async function checkCoreRange(meta: PluginMeta): Promise<void> {
  if (meta.core === undefined || meta.name === CORE_PACKAGE_NAME) return;
  const { default: semver } = await import('semver');
  if (!semver.validRange(meta.core)) {
    throw gtsError('GTS_ERR_PLUGIN_INCOMPATIBLE', meta.name, `an invalid range ${JSON.stringify(meta.core)}`, CORE_VERSION);
  }
  if (!semver.satisfies(CORE_VERSION, meta.core, { includePrerelease: true })) {
    throw gtsError('GTS_ERR_PLUGIN_INCOMPATIBLE', meta.name, meta.core, CORE_VERSION);
  }
}

/** Check that a resolved value is a class (a constructor function) and return it typed. */
export function expectClass<T>(resolved: ResolvedPlugin, kind: PluginKind, requiredMethods: readonly string[]): new (...args: never[]) => T {
  const value = resolved.value;
  const isClass = typeof value === 'function' && typeof (value as { prototype?: unknown }).prototype === 'object';
  const proto = isClass ? ((value as { prototype: Record<string, unknown> }).prototype) : undefined;
  const missing = requiredMethods.filter((m) => typeof proto?.[m] !== 'function');
  if (!isClass || missing.length > 0) {
    const found = isClass ? `a class without ${missing.join(', ')}` : describeValue(value);
    throw gtsError('GTS_ERR_PLUGIN_INVALID', KIND_LABELS[kind], resolved.spec, KIND_LABELS[kind], `${resolved.from} exports ${found}`);
  }
  return value as new (...args: never[]) => T;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
  if (typeof value === 'object') return `an object with keys [${Object.keys(value).join(', ')}]`;
  return `a ${typeof value} (${String(value)})`;
}

/** The "tried" line for the short names: `bundled worker classes: sync, evented, gthread`. */
function bundledNames(kind: PluginKind): string {
  const label = KIND_LABELS[kind];
  return `bundled ${label}${label.endsWith('s') ? 'es' : 's'}: ${Object.keys(BUILTIN_PLUGINS[kind]).join(', ')}`;
}
