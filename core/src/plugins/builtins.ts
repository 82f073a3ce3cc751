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

/**
 * Gunicorn's own spellings of what is bundled here, as its manual and existing config files
 * write them (`egg:gunicorn#sync`, `gunicorn.workers.sync.SyncWorker`, the default
 * `gunicorn.glogging.Logger`): each stands for the bundled short name.
 */
export const GUNICORN_SPELLINGS: Readonly<Record<PluginKind, Readonly<Record<string, string>>>> = {
  worker: {
    'egg:gunicorn#sync': 'sync',
    'gunicorn.workers.sync.SyncWorker': 'sync',
    'egg:gunicorn#gthread': 'gthread',
    'gunicorn.workers.gthread.ThreadWorker': 'gthread',
  },
  logger: {
    'gunicorn.glogging.Logger': 'glogging',
    'egg:gunicorn#simple': 'simple',
    'gunicorn.instrument.statsd.Statsd': 'statsd',
  },
  plugin: {},
};

/**
 * Gunicorn's Python-only worker classes (greenlets, Tornado, asyncio), by every spelling: they
 * have no Node port, and the Node analogue of them all is the evented worker.
 */
export const PYTHON_ONLY_WORKERS: ReadonlySet<string> = new Set(
  [
    ['eventlet', 'gunicorn.workers.geventlet.EventletWorker'],
    ['gevent', 'gunicorn.workers.ggevent.GeventWorker'],
    ['gevent_wsgi', 'gunicorn.workers.ggevent.GeventPyWSGIWorker'],
    ['gevent_pywsgi', 'gunicorn.workers.ggevent.GeventPyWSGIWorker'],
    ['tornado', 'gunicorn.workers.gtornado.TornadoWorker'],
    ['gaiohttp', 'gunicorn.workers.gaiohttp.AiohttpWorker'],
  ].flatMap(([name, path]) => [name as string, `egg:gunicorn#${name as string}`, path as string]),
);
