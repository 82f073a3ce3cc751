/**
 * Booting an app thread, as a worker process boots (a thread shares nothing with the main
 * thread but the process: every module is loaded again here): the settings with the config
 * file's hook functions re-imported, the logger, the hooks, the plugins, then the app.
 */
import {
  CORE_VERSION,
  PluginResolver,
  TOKENS,
  appSearchPaths,
  applyPlugins,
  createContainer,
  createLogger,
  createWorkerHooks,
  guardSyncHooks,
  loadApp,
  loadPlugins,
  loadWorkerSettings,
  tapWorkerConfigHooks,
  tlsContextFromSettings,
  type LoadedApp,
  type Logger,
  type Settings,
  type TlsServerContext,
  type WorkerHooks,
} from '@gunicorn-ts/core';
import type { ThreadBootData } from './messages.js';
import { ThreadWorkerApi } from './thread-api.js';

export interface ThreadRuntime {
  readonly settings: Settings;
  readonly log: Logger;
  readonly hooks: WorkerHooks;
  readonly api: ThreadWorkerApi;
  readonly app: LoadedApp;
  readonly tls: TlsServerContext | undefined;
}

export async function bootThread(data: ThreadBootData): Promise<ThreadRuntime> {
  const settings = await loadWorkerSettings(data.settings);
  const container = createContainer();
  const resolver = PluginResolver.forSettings(settings, { checkCompatibility: false });
  container.register(TOKENS.Settings, { useValue: settings });
  container.register(TOKENS.PluginResolver, { useValue: resolver });
  const log = await createLogger(settings, resolver, container);

  const hooks = createWorkerHooks();
  guardSyncHooks(hooks, () => log);
  container.register(TOKENS.WorkerHooks, { useValue: hooks });
  const api = new ThreadWorkerApi(data.ppid, data.age, data.index, settings, log);
  tapWorkerConfigHooks(hooks, settings);
  const plugins = await loadPlugins(settings, resolver, container);
  await applyPlugins(plugins, { role: 'worker', settings, container, log, coreVersion: CORE_VERSION, hooks, worker: api });

  const spec = settings.get('app');
  if (spec === null) throw new Error('No application module specified');
  const app = await loadApp(spec, { cwd: settings.get('chdir'), searchPaths: appSearchPaths(settings) });
  container.register(TOKENS.App, { useValue: app.listener });
  return { settings, log, hooks, api, app, tls: tlsContextFromSettings(settings) };
}
