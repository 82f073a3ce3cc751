/**
 * Turns the plugin strings of the settings into applied plugins. The same list is resolved in
 * the master and again in every worker (a fresh process), so a plugin must not rely on state
 * from the other side.
 */
import { gtsError, userCodeError } from '../errors.js';
import { construct, type DependencyContainer } from '../container.js';
import type { Settings } from '../settings/settings.js';
import { KIND_LABELS } from './builtins.js';
import type { GtsPlugin, PluginContext } from './plugin.js';
import { describeValue, type PluginResolver, type ResolvedPlugin } from './resolver.js';

export interface LoadedPlugin {
  readonly name: string;
  readonly spec: string;
  readonly plugin: GtsPlugin;
}

/** Explicit `plugins`, then those that settings switch on (e.g. --proxy-protocol). */
export function pluginSpecs(settings: Settings): string[] {
  const specs = [...settings.get('plugins')];
  if (settings.get('proxy_protocol') && !specs.includes('proxy-protocol')) specs.push('proxy-protocol');
  return specs;
}

export async function loadPlugins(settings: Settings, resolver: PluginResolver, container: DependencyContainer): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  for (const spec of pluginSpecs(settings)) {
    const resolved = await resolver.resolve('plugin', spec);
    loaded.push({ name: resolved.meta.name, spec, plugin: instantiate(resolved, container, settings) });
  }
  return loaded;
}

function instantiate(resolved: ResolvedPlugin, container: DependencyContainer, settings: Settings): GtsPlugin {
  const value = resolved.value;
  if (typeof value === 'function' && typeof (value as { prototype?: { apply?: unknown } }).prototype?.apply === 'function') {
    try {
      return construct(container, value as new (...args: never[]) => GtsPlugin, [settings]);
    } catch (err) {
      throw userCodeError('GTS_ERR_PLUGIN_FAILED', err, resolved.meta.name, 'its constructor');
    }
  }
  if (value !== null && typeof value === 'object' && typeof (value as { apply?: unknown }).apply === 'function') {
    return value as GtsPlugin;
  }
  throw gtsError('GTS_ERR_PLUGIN_INVALID', KIND_LABELS.plugin, resolved.spec, 'plugin', `${resolved.from} exports ${describeValue(value)}, not a class or object with apply()`);
}

export async function applyPlugins(plugins: readonly LoadedPlugin[], context: PluginContext): Promise<void> {
  for (const { name, plugin } of plugins) {
    try {
      await plugin.apply(context);
    } catch (err) {
      throw userCodeError('GTS_ERR_PLUGIN_FAILED', err, name, `apply() in the ${context.role}`);
    }
  }
}
