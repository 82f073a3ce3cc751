/**
 * Short names of the bundled plugins, as strings only: the core never imports a plugin
 * package, it resolves these like any third-party string.
 */
export type PluginKind = 'worker' | 'logger' | 'plugin';

/** The group a package declares its named entry points under, in its "gunicorn-ts" field. */
export const ENTRY_GROUPS: Readonly<Record<PluginKind, string>> = {
  worker: 'workers',
  logger: 'loggers',
  plugin: 'plugins',
};

export const KIND_LABELS: Readonly<Record<PluginKind, string>> = {
  worker: 'worker class',
  logger: 'logger class',
  plugin: 'plugin',
};

export const BUILTIN_PLUGINS: Readonly<Record<PluginKind, Readonly<Record<string, string>>>> = {
  worker: {
    sync: 'egg:@gunicorn-ts/worker-sync#sync',
    evented: 'egg:@gunicorn-ts/worker-evented#evented',
    gthread: 'egg:@gunicorn-ts/worker-gthread#gthread',
  },
  logger: {
    glogging: 'egg:@gunicorn-ts/core#glogging',
    simple: 'egg:@gunicorn-ts/core#simple',
    statsd: 'egg:@gunicorn-ts/logger-statsd#statsd',
    syslog: 'egg:@gunicorn-ts/logger-syslog#syslog',
  },
  plugin: {
    'proxy-protocol': 'egg:@gunicorn-ts/proxy-protocol#proxy-protocol',
  },
};

/** `egg:gunicorn-ts#NAME` names a bundled plugin, as `egg:gunicorn#gevent` does in Gunicorn. */
export const BUNDLE_EGG = 'gunicorn-ts';
