/**
 * The plugin contract. A plugin is a class (or object) with `apply(context)`, the webpack
 * habit: it taps hooks and registers providers in the process's container. It is applied once
 * in the master and once in every worker (a worker is a fresh process that re-resolves its
 * plugins from their strings), and tells which one it is in by `context.role`.
 */
import type { DependencyContainer } from '../container.js';
import type { ArbiterApi, ArbiterHooks, WorkerApi, WorkerHooks } from '../hooks/hooks.js';
import type { Logger } from '../logging/logger.js';
import type { Settings } from '../settings/settings.js';

interface PluginContextBase {
  readonly settings: Settings;
  readonly container: DependencyContainer;
  readonly log: Logger;
  readonly coreVersion: string;
}

export interface ArbiterPluginContext extends PluginContextBase {
  readonly role: 'arbiter';
  readonly hooks: ArbiterHooks;
  readonly arbiter: ArbiterApi;
}

export interface WorkerPluginContext extends PluginContextBase {
  readonly role: 'worker';
  readonly hooks: WorkerHooks;
  readonly worker: WorkerApi;
}

export type PluginContext = ArbiterPluginContext | WorkerPluginContext;

export interface GtsPlugin {
  apply(context: PluginContext): void | Promise<void>;
}

/**
 * Metadata a plugin may carry as a static `meta` (classes) or a `meta` property (objects);
 * otherwise the resolver takes the name and the `@gunicorn-ts/core` peer range from the
 * package.json it came from.
 */
export interface PluginMeta {
  readonly name: string;
  /** A semver range of @gunicorn-ts/core versions the plugin works with. */
  readonly core?: string;
}
