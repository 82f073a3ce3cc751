/** Resolving logger_class like any plugin string, and the settings that imply a logger. */
import { construct, TOKENS, type DependencyContainer } from '../container.js';
import { expectClass, type PluginResolver } from '../plugins/resolver.js';
import type { Settings } from '../settings/settings.js';
import type { Logger } from './logger.js';

const DEFAULT_LOGGERS = new Set(['glogging', 'simple']);

/** Gunicorn switches to its statsd logger when statsd_host is set; syslog likewise. */
export function loggerSpec(settings: Settings): string {
  const spec = settings.get('logger_class');
  if (!DEFAULT_LOGGERS.has(spec)) return spec;
  if (settings.get('statsd_host') !== null) return 'statsd';
  if (settings.get('syslog')) return 'syslog';
  return spec;
}

export async function createLogger(settings: Settings, resolver: PluginResolver, container: DependencyContainer): Promise<Logger> {
  const resolved = await resolver.resolve('logger', loggerSpec(settings));
  const LoggerClass = expectClass<Logger>(resolved, 'logger', ['setup', 'info', 'error', 'access', 'reopenFiles', 'close']);
  if (!container.isRegistered(TOKENS.Settings)) container.register(TOKENS.Settings, { useValue: settings });
  const logger = construct(container, LoggerClass, [settings]);
  await logger.setup();
  container.register(TOKENS.Logger, { useValue: logger });
  return logger;
}
