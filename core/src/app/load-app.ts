/**
 * Loading the app named by MODULE:EXPORT and turning it into a Node request listener.
 * Accepted shapes: a request listener `(req, res)` (Express, Koa's `callback()`, plain http),
 * an `http.Server` (its 'request' listener is used), a Koa-style app object (`callback()`),
 * a fetch handler function `(request) => Response` (one parameter), or an object with a
 * `fetch` method (Hono and others). Anything else is an error naming what was found.
 */
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { gtsError, userCodeError } from '../errors.js';
import { describeValue } from '../plugins/resolver.js';
import { importFile, resolveAppModule } from '../util/module-resolution.js';
import { parseAppSpec } from './app-spec.js';
import { addSyntaxErrorLocation } from './syntax-location.js';
import { adaptArgumentlessFunction, adaptFetchHandler, type FetchHandler, type NodeRequestListener } from './fetch-adapter.js';

export type AppKind = 'request-listener' | 'fetch-handler';

export interface LoadedApp {
  readonly listener: NodeRequestListener;
  readonly kind: AppKind;
  /** e.g. "examples/hello.js:app (request listener)". */
  readonly description: string;
  /** The module file, for --reload to watch. */
  readonly file: string;
}

export interface LoadAppOptions {
  readonly cwd: string;
  /** Where MODULE is looked up, in order (pythonpath dirs, then cwd): see resolveAppModule. */
  readonly searchPaths: readonly string[];
}

const DEFAULT_EXPORTS = ['app', 'default'] as const;

export async function loadApp(spec: string, options: LoadAppOptions): Promise<LoadedApp> {
  const parsed = parseAppSpec(spec);
  const tried: string[] = [];
  const file = resolveAppModule(parsed.module, options.cwd, options.searchPaths, tried);
  if (file === undefined) throw gtsError('GTS_ERR_APP_NOT_FOUND', parsed.module, tried.map((t) => `  - ${t}`).join('\n'));

  let namespace: Record<string, unknown>;
  try {
    namespace = await importFile(file);
  } catch (err) {
    addSyntaxErrorLocation(err, file);
    throw userCodeError('GTS_ERR_APP_LOAD', err, spec);
  }

  let value: unknown;
  if (parsed.exportName !== undefined) {
    value = exportedValue(namespace, parsed.exportName);
    if (value === MISSING) {
      throw gtsError('GTS_ERR_APP_EXPORT_NOT_FOUND', file, parsed.exportName, exportNames(namespace).join(', ') || 'none');
    }
  } else {
    const found = DEFAULT_EXPORTS.map((n) => exportedValue(namespace, n)).find((v) => v !== MISSING && v !== undefined);
    value = found ?? namespace;
  }
  if (parsed.callFactory) {
    if (typeof value !== 'function') throw gtsError('GTS_ERR_APP_INVALID', spec, `${describeValue(value)}, which cannot be called as a factory`);
    try {
      value = await (value as () => unknown)();
    } catch (err) {
      throw userCodeError('GTS_ERR_APP_LOAD', err, spec);
    }
  }
  const adapted = toListener(value, spec);
  return { ...adapted, description: `${spec} (${adapted.kind.replace('-', ' ')})`, file };
}

const MISSING = Symbol('missing export');

/**
 * An export as require() would see it too. Importing a CommonJS module gives `default` =
 * module.exports plus only the names Node's static analysis found, so `module.exports = {
 * app, other: 1 }` or `Object.assign(module.exports, { app })` had no `app`: such names are
 * read from module.exports. TypeScript's `export default app` compiled to CommonJS
 * (`exports.default`, with `__esModule`) is the default export, as a bundler reads it.
 */
function exportedValue(namespace: Record<string, unknown>, name: string): unknown {
  const moduleExports = namespace['default'];
  if (name === 'default' && isCompiledEsModule(moduleExports)) return moduleExports.default;
  if (name in namespace) return namespace[name];
  if (isObjectLike(moduleExports) && Object.hasOwn(moduleExports, name)) return (moduleExports as Record<string, unknown>)[name];
  return MISSING;
}

function exportNames(namespace: Record<string, unknown>): string[] {
  const moduleExports = namespace['default'];
  const names = new Set(Object.keys(namespace));
  if (isObjectLike(moduleExports)) for (const key of Object.keys(moduleExports)) names.add(key);
  return [...names];
}

function isObjectLike(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

function isCompiledEsModule(value: unknown): value is { default: unknown } {
  return isObjectLike(value) && (value as { __esModule?: unknown }).__esModule === true && 'default' in value;
}

/**
 * An http(s).Server: a net.Server. Not duck-typed: a Koa app also has `listen` and (as an
 * EventEmitter) `listeners`, and was refused as "an http.Server with no request listener".
 */
function isHttpServer(value: unknown): value is Server {
  return value instanceof NetServer;
}

function toListener(value: unknown, spec: string): { listener: NodeRequestListener; kind: AppKind } {
  if (typeof value === 'function') {
    // One declared parameter is a fetch handler `(request)`; a request listener takes (req, res[, next]).
    if (value.length === 1) return { listener: adaptFetchHandler(value as FetchHandler), kind: 'fetch-handler' };
    if (value.length === 0) return { listener: adaptArgumentlessFunction(value as (...args: unknown[]) => unknown), kind: 'request-listener' };
    return { listener: value as NodeRequestListener, kind: 'request-listener' };
  }
  if (isHttpServer(value)) {
    const [listener] = value.listeners('request');
    if (typeof listener === 'function') return { listener: listener as NodeRequestListener, kind: 'request-listener' };
    throw gtsError('GTS_ERR_APP_INVALID', spec, 'an http.Server with no request listener');
  }
  if (value !== null && typeof value === 'object') {
    const object = value as { fetch?: unknown; callback?: unknown };
    if (typeof object.fetch === 'function') {
      const fetch = object.fetch.bind(object) as FetchHandler;
      return { listener: adaptFetchHandler(fetch), kind: 'fetch-handler' };
    }
    if (typeof object.callback === 'function') {
      const listener = (object.callback as () => unknown).call(object);
      if (typeof listener === 'function') return { listener: listener as NodeRequestListener, kind: 'request-listener' };
    }
  }
  throw gtsError('GTS_ERR_APP_INVALID', spec, describeValue(value));
}
