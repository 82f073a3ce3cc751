/**
 * The worker class the settings name, resolved once in the master (as Gunicorn loads
 * worker_class there: a bad string fails before any worker starts), with its own setting
 * defaults applied. A worker class may declare a static `settingDefaults`: values that
 * replace the registry's defaults where the user set nothing. gthread, for one, runs several
 * V8 isolates per process and wants a smaller young generation in each.
 */
import { gtsError } from '../errors.js';
import type { Settings } from '../settings/settings.js';
import type { WorkerContext } from '../worker/context.js';
import { isWorkerClass, type Worker } from '../worker/base.js';
import { KIND_LABELS } from './builtins.js';
import { describeValue, type PluginResolver, type ResolvedPlugin } from './resolver.js';

export async function resolveWorkerClass(settings: Settings, resolver: PluginResolver): Promise<ResolvedPlugin> {
  const resolved = await resolver.resolve('worker', settings.effectiveWorkerClass());
  applySettingDefaults(resolved, settings);
  expectWorkerClass(resolved);
  return resolved;
}

/**
 * The class a worker process constructs: it must extend this core's Worker. One that extends
 * the Worker of another copy of @gunicorn-ts/core (a plugin that installed its own instead of
 * sharing the server's) would find none of this core's injection tokens in the worker, so it is
 * refused here, in the master and by --check-config, not in every worker at boot.
 */
export function expectWorkerClass(resolved: ResolvedPlugin): new (context: WorkerContext) => Worker {
  const value = resolved.value;
  if (isWorkerClass(value)) return value;
  const label = KIND_LABELS.worker;
  const reason = extendsForeignWorker(value)
    ? `${resolved.from} extends Worker from another copy of @gunicorn-ts/core; declare @gunicorn-ts/core as a peerDependency of the plugin and reinstall (npm dedupe) so it uses the server's`
    : `${resolved.from} exports ${typeof value === 'function' ? `a class (${value.name || 'anonymous'}) that does not extend Worker from @gunicorn-ts/core` : describeValue(value)}`;
  throw gtsError('GTS_ERR_PLUGIN_INVALID', label, resolved.spec, label, reason);
}

function extendsForeignWorker(value: unknown): boolean {
  for (let ancestor = typeof value === 'function' ? Object.getPrototypeOf(value) : null; typeof ancestor === 'function'; ancestor = Object.getPrototypeOf(ancestor)) {
    if ((ancestor as { name?: string }).name === 'Worker') return true;
  }
  return false;
}

function applySettingDefaults(resolved: ResolvedPlugin, settings: Settings): void {
  const defaults = (resolved.value as { settingDefaults?: unknown } | null)?.settingDefaults;
  if (defaults === undefined) return;
  if (defaults === null || typeof defaults !== 'object' || Array.isArray(defaults)) {
    throw gtsError('GTS_ERR_PLUGIN_INVALID', KIND_LABELS.worker, resolved.spec, KIND_LABELS.worker, `its settingDefaults is ${describeValue(defaults)}, not an object of setting values`);
  }
  // These choose what is loaded, the class itself among them: too late to change here.
  const loaded = Object.keys(defaults).filter((name) => NOT_CLASS_DEFAULTS.has(name));
  if (loaded.length > 0) {
    throw gtsError('GTS_ERR_PLUGIN_INVALID', KIND_LABELS.worker, resolved.spec, KIND_LABELS.worker, `its settingDefaults sets ${loaded.join(', ')}, which a worker class cannot default`);
  }
  settings.applyClassDefaults(defaults as Record<string, unknown>, `the settingDefaults of worker class ${resolved.spec}`);
}

const NOT_CLASS_DEFAULTS: ReadonlySet<string> = new Set(['worker_class', 'config']);
