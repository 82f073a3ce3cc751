/**
 * The worker class the settings name, resolved once in the master (as Gunicorn loads
 * worker_class there: a bad string fails before any worker starts), with its own setting
 * defaults applied. A worker class may declare a static `settingDefaults`: values that
 * replace the registry's defaults where the user set nothing. gthread, for one, runs several
 * V8 isolates per process and wants a smaller young generation in each.
 */
import { gtsError } from '../errors.js';
import type { Settings } from '../settings/settings.js';
import { KIND_LABELS } from './builtins.js';
import { describeValue, type PluginResolver, type ResolvedPlugin } from './resolver.js';

export async function resolveWorkerClass(settings: Settings, resolver: PluginResolver): Promise<ResolvedPlugin> {
  const resolved = await resolver.resolve('worker', settings.effectiveWorkerClass());
  const defaults = (resolved.value as { settingDefaults?: unknown } | null)?.settingDefaults;
  if (defaults === undefined) return resolved;
  if (defaults === null || typeof defaults !== 'object' || Array.isArray(defaults)) {
    throw gtsError('GTS_ERR_PLUGIN_INVALID', KIND_LABELS.worker, resolved.spec, KIND_LABELS.worker, `its settingDefaults is ${describeValue(defaults)}, not an object of setting values`);
  }
  // These choose what is loaded, the class itself among them: too late to change here.
  const loaded = Object.keys(defaults).filter((name) => NOT_CLASS_DEFAULTS.has(name));
  if (loaded.length > 0) {
    throw gtsError('GTS_ERR_PLUGIN_INVALID', KIND_LABELS.worker, resolved.spec, KIND_LABELS.worker, `its settingDefaults sets ${loaded.join(', ')}, which a worker class cannot default`);
  }
  settings.applyClassDefaults(defaults as Record<string, unknown>, `the settingDefaults of worker class ${resolved.spec}`);
  return resolved;
}

const NOT_CLASS_DEFAULTS: ReadonlySet<string> = new Set(['worker_class', 'config']);
