/**
 * --check-config: everything a start would load, loaded here and nothing started: the logger,
 * the worker class, the plugins, the app and the TLS files. The first failure is reported as the start would.
 */
import { createContainer, TOKENS } from '../container.js';
import { loadApp } from '../app/load-app.js';
import { gtsError } from '../errors.js';
import { createLogger } from '../logging/create-logger.js';
import { loadPlugins } from '../plugins/load-plugins.js';
import { PluginResolver } from '../plugins/resolver.js';
import { resolveWorkerClass } from '../plugins/worker-class.js';
import type { Settings } from '../settings/settings.js';
import { appSearchPaths } from '../app/search-paths.js';
import { tlsContextFromSettings } from '../worker/tls-settings.js';

export interface CheckReport {
  readonly workerClass: string;
  readonly plugins: readonly string[];
  readonly app: string;
}

export async function checkConfig(settings: Settings): Promise<CheckReport> {
  const container = createContainer();
  container.register(TOKENS.Settings, { useValue: settings });
  const resolver = PluginResolver.forSettings(settings);
  const logger = await createLogger(settings, resolver, container);
  await logger.close();
  const worker = await resolveWorkerClass(settings, resolver);
  const plugins = await loadPlugins(settings, resolver, container);
  const appSpec = settings.get('app');
  if (appSpec === null) throw gtsError('GTS_ERR_USAGE', 'No application module specified.');
  const app = await loadApp(appSpec, { cwd: settings.get('chdir'), searchPaths: appSearchPaths(settings) });
  // Certificate and key files are read and matched as a worker would, so a bad one fails here.
  tlsContextFromSettings(settings);
  return { workerClass: `${worker.spec} (${worker.from})`, plugins: plugins.map((p) => p.name), app: app.description };
}
