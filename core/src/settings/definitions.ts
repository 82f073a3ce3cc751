/**
 * Every setting, declared once. The CLI, the config file loader, --check-config,
 * --print-config and docs/settings.md are all generated from this list; nothing else declares
 * a setting. Names, sections, flags and defaults follow the Gunicorn 19.2.1 manual; where that
 * manual speaks of Python, `nodeNote` says what the setting means here.
 */
import * as v from './validators.js';
import type { HookFunction } from './validators.js';
import type { SettingSpec } from './spec.js';
import { DEFAULT_ACCESS_LOG_FORMAT } from '../http/access-log.js';
import { resolveTlsVersionFloor } from '../http/tls.js';
import { gtsError } from '../errors.js';


/** The typed value of every setting, by name. */
export interface SettingValues {
  config: string | null;
  app: string | null;
  bind: string[];
  backlog: number;
  workers: number;
  worker_class: string;
  threads: number;
  worker_connections: number;
  worker_semi_space: number;
  worker_heap_growth: number;
  max_requests: number;
  max_requests_jitter: number;
  timeout: number;
  graceful_timeout: number;
  keepalive: number;
  limit_request_line: number;
  limit_request_fields: number;
  limit_request_field_size: number;
  header_timeout: number;
  body_timeout: number;
  reload: boolean;
  spew: null;
  check_config: boolean;
  print_config: boolean;
  preload_app: boolean;
  sendfile: boolean;
  chdir: string;
  daemon: boolean;
  raw_env: string[];
  pidfile: string | null;
  worker_tmp_dir: string | null;
  user: number | null;
  group: number | null;
  umask: number;
  tmp_upload_dir: string | null;
  secure_scheme_headers: Record<string, string>;
  forwarded_allow_ips: string[];
  accesslog: string | null;
  access_log_format: string;
  errorlog: string;
  loglevel: 'debug' | 'info' | 'warning' | 'error' | 'critical';
  logger_class: string;
  logconfig: string | null;
  syslog_addr: string;
  syslog: boolean;
  syslog_prefix: string | null;
  syslog_facility: string;
  enable_stdio_inheritance: boolean;
  statsd_host: string | null;
  statsd_prefix: string;
  proc_name: string | null;
  default_proc_name: string;
  django_settings: null;
  pythonpath: string[];
  paste: null;
  plugins: string[];
  on_starting: HookFunction | null;
  on_reload: HookFunction | null;
  when_ready: HookFunction | null;
  pre_fork: HookFunction | null;
  post_fork: HookFunction | null;
  post_worker_init: HookFunction | null;
  worker_int: HookFunction | null;
  worker_abort: HookFunction | null;
  pre_exec: HookFunction | null;
  pre_request: HookFunction | null;
  post_request: HookFunction | null;
  worker_exit: HookFunction | null;
  nworkers_changed: HookFunction | null;
  on_exit: HookFunction | null;
  proxy_protocol: boolean;
  proxy_allow_ips: string[];
  keyfile: string | null;
  certfile: string | null;
  ssl_version: string;
  cert_reqs: number;
  ca_certs: string | null;
  suppress_ragged_eofs: boolean;
  do_handshake_on_connect: boolean;
  ciphers: string | null;
}

export type SettingName = keyof SettingValues;

type Decl<K extends SettingName> = SettingSpec<SettingValues[K]> & { readonly name: K };

function setting<K extends SettingName>(
  spec: Omit<Decl<K>, 'serializable' | 'cli'> & { cli?: Decl<K>['cli']; serializable?: boolean },
): Decl<K> {
  const cli = spec.cli ?? (spec.flags.length === 0 ? 'none' : 'value');
  return Object.freeze({ ...spec, cli, serializable: spec.serializable ?? true });
}

function hook<K extends SettingName>(name: K, signature: string, desc: string, nodeNote?: string): Decl<K> {
  return setting<K>({
    name,
    section: 'Server Hooks',
    flags: [],
    validate: v.hookFunction(signature) as (raw: unknown) => SettingValues[K],
    default: () => null as SettingValues[K],
    defaultDoc: signature,
    desc,
    ...(nodeNote === undefined ? {} : { nodeNote }),
    serializable: false,
  });
}

/**
 * $WEB_CONCURRENCY or 1, as Gunicorn. A value that is set but not a positive integer stops the
 * start (Gunicorn's int() fails too) instead of silently running one worker.
 */
function defaultWorkers(): number {
  const fromEnv = process.env['WEB_CONCURRENCY'];
  if (fromEnv === undefined || fromEnv.trim() === '') return 1;
  const trimmed = fromEnv.trim();
  if (!/^\d+$/.test(trimmed) || Number(trimmed) < 1 || !Number.isSafeInteger(Number(trimmed))) {
    throw gtsError('GTS_ERR_INVALID_SETTING', 'workers ($WEB_CONCURRENCY)', `${JSON.stringify(fromEnv)} is not a positive integer`);
  }
  return Number(trimmed);
}

export const SETTINGS = [
  setting({
    name: 'config', section: 'Config File', flags: ['-c', '--config'], metavar: 'FILE',
    validate: v.optionalStr, default: () => null, defaultDoc: './gunicorn.conf.js if present',
    desc: 'The path to a config file: a .js, .mjs, .cjs or .json file. A JS file exports settings by name, hooks as functions and a `plugins` list.',
    nodeNote: 'Without -c, ./gunicorn.conf.js in the working directory is used when it exists. Only has an effect on the command line or in GUNICORN_TS_CMD_ARGS.',
  }),
  setting({
    name: 'app', section: 'Server Mechanics', flags: [], metavar: 'APP_MODULE',
    validate: v.optionalStr, default: () => null,
    desc: 'The app to serve, as MODULE:EXPORT. Usually given as the positional argument; a config file may set it instead.',
    nodeNote: 'MODULE is a file path or a package name; EXPORT defaults to `app`, then `default`, then the module itself (for a CommonJS module, its exports as require() sees them, and the `export default` of TypeScript compiled to CommonJS); `MODULE:createApp()` calls a factory. The app is a Node request listener `(req, res)` or a fetch handler (`(Request) => Response`, or an object with a `fetch` method). A function is told apart by the parameters it declares: one is a fetch handler; none (`() => new Response(...)`, `(...args) =>`) is called as a listener, and a Response it returns is the answer; two or more is a listener.',
  }),
  setting({
    name: 'bind', section: 'Server Socket', flags: ['-b', '--bind'], cli: 'append', metavar: 'ADDRESS',
    validate: v.bindList, default: () => ['127.0.0.1:8000'],
    desc: "The socket to bind: 'HOST', 'HOST:PORT', '[IPV6]:PORT', 'tcp://HOST:PORT' (the same), 'unix:PATH' or 'fd://N'. Repeat the flag to bind several addresses.",
    nodeNote: 'A HOST without a port binds port 8000. When systemd passes sockets (LISTEN_FDS/LISTEN_PID) they are used instead.',
  }),
  setting({
    name: 'backlog', section: 'Server Socket', flags: ['--backlog'], metavar: 'INT',
    validate: v.positiveInt, default: () => 2048,
    desc: 'The maximum number of pending connections. Generally set in the 64-2048 range.',
  }),
  setting({
    name: 'workers', section: 'Worker Processes', flags: ['-w', '--workers'], metavar: 'INT',
    validate: v.positiveInt, default: defaultWorkers, defaultDoc: '$WEB_CONCURRENCY or 1',
    desc: 'The number of worker processes for handling requests, generally 2-4 x $(NUM_CORES).',
  }),
  setting({
    name: 'worker_class', section: 'Worker Processes', flags: ['-k', '--worker-class'], metavar: 'STRING',
    validate: v.nonEmptyStr, default: () => 'sync',
    desc: 'The type of workers to use: sync, evented or gthread, or a plugin string (egg:PKG#NAME, a package name, or ./module.js:Export).',
    nodeNote: '`--threads N` with N > 1 and the sync class selects gthread, as in Gunicorn.',
  }),
  setting({
    name: 'threads', section: 'Worker Processes', flags: ['--threads'], metavar: 'INT',
    validate: v.positiveInt, default: () => 1,
    desc: 'The number of worker threads for handling requests (gthread worker).',
    nodeNote: 'Each thread is a node:worker_threads Worker with its own copy of the app module.',
  }),
  setting({
    name: 'worker_connections', section: 'Worker Processes', flags: ['--worker-connections'], metavar: 'INT',
    validate: v.positiveInt, default: () => 1000,
    desc: 'The maximum number of simultaneous clients per worker (evented worker).',
  }),
  setting({
    name: 'worker_semi_space', section: 'Worker Processes', flags: ['--worker-semi-space'], metavar: 'MB',
    validate: v.nonNegativeInt, default: () => 8,
    desc: "The size in MB of each V8 semi-space (half of the young generation) in worker processes and gthread app threads; 0 leaves V8's default (16 MB on 64-bit). The gthread worker class defaults it to 2.",
    nodeNote:
      'Not in Gunicorn. A web worker allocates many short-lived objects per request; V8 grows its young generation to 3 × 16 MB under load. ' +
      'With 8 MB, worker RSS under load was 10-20 % lower in our benchmark and throughput was unchanged (see bench/README.md); ' +
      'an app that keeps large objects alive across requests may prefer 16 or 0. A gthread process holds one V8 isolate per app thread plus its main thread, ' +
      'and there 2 MB cut the peak worker RSS by 17 % at the same throughput (docs/gthread.md). Ignored when NODE_OPTIONS or the master\'s own node flags already set --max-semi-space-size.',
  }),
  setting({
    name: 'worker_heap_growth', section: 'Worker Processes', flags: ['--worker-heap-growth'], metavar: 'PERCENT',
    validate: v.intInRange(0, 300), default: () => 0,
    desc: "How far V8 lets the old generation of a worker process (and of each gthread app thread) grow past what survived its last full collection, in percent; 0 leaves it to V8 (which grows it up to 4 times). The evented and gthread worker classes default it to 50.",
    nodeNote:
      'Not in Gunicorn. Sets V8\'s --heap-growing-percent in workers. A gthread process holds one V8 isolate per app thread plus its main thread, and each old generation left to grow several times past its live data is what kept a gthread worker at 1.5 × the RSS of a plain Node process under load; with 50 its peak RSS fell from about 150 to 115 MB at the same throughput (docs/gthread.md), and an evented worker\'s from about 107 to 88 MB. ' +
      'The sync class keeps 0: a sync worker makes a connection per request, and more frequent full collections raised its p99 latency at 8 connections from about 3.3 to 4.1 ms. ' +
      'Lower values mean more frequent full collections, which an app holding hundreds of MB of live data pays for in CPU. Ignored when the master\'s own node flags set --heap-growing-percent.',
  }),
  setting({
    name: 'max_requests', section: 'Worker Processes', flags: ['--max-requests'], metavar: 'INT',
    validate: v.nonNegativeInt, default: () => 0,
    desc: 'The maximum number of requests a worker will process before restarting; 0 disables restarts.',
  }),
  setting({
    name: 'max_requests_jitter', section: 'Worker Processes', flags: ['--max-requests-jitter'], metavar: 'INT',
    validate: v.nonNegativeInt, default: () => 0,
    desc: 'The maximum jitter to add to max_requests: each worker restarts after max_requests + randint(0, max_requests_jitter) requests.',
  }),
  setting({
    name: 'timeout', section: 'Worker Processes', flags: ['-t', '--timeout'], metavar: 'INT',
    validate: v.nonNegativeInt, default: () => 30,
    desc: 'Workers silent for more than this many seconds are killed and restarted. 0 disables the check.',
    nodeNote: 'A worker is silent when its event loop stops turning (a blocked handler) or it stops heart-beating; a sync worker also when its one request has run longer than this, as in Gunicorn. It gets SIGABRT, then SIGKILL.',
  }),
  setting({
    name: 'graceful_timeout', section: 'Worker Processes', flags: ['--graceful-timeout'], metavar: 'INT',
    validate: v.nonNegativeInt, default: () => 30,
    desc: 'Timeout for graceful workers restart: after it, workers still running are force killed.',
  }),
  setting({
    name: 'keepalive', section: 'Worker Processes', flags: ['--keep-alive'], metavar: 'INT',
    validate: v.nonNegativeInt, default: () => 2,
    desc: 'The number of seconds to wait for requests on a Keep-Alive connection; 0 disables keep-alive.',
  }),
  setting({
    name: 'limit_request_line', section: 'Security', flags: ['--limit-request-line'], metavar: 'INT',
    validate: v.intInRange(0, 8190), default: () => 4094,
    desc: 'The maximum size of the HTTP request line in bytes, from 0 (unlimited) to 8190.',
  }),
  setting({
    name: 'limit_request_fields', section: 'Security', flags: ['--limit-request-fields'], metavar: 'INT',
    validate: v.intInRange(0, 32768), default: () => 100,
    desc: 'Limit the number of HTTP header fields in a request, up to 32768 (0 means 32768).',
  }),
  setting({
    name: 'limit_request_field_size', section: 'Security',
    flags: ['--limit-request-field_size', '--limit-request-field-size'], metavar: 'INT',
    validate: v.intInRange(0, 8190), default: () => 8190,
    desc: 'Limit the allowed size of an HTTP request header field, from 0 (unlimited) to 8190.',
  }),
  setting({
    name: 'header_timeout', section: 'Security', flags: ['--header-timeout'], metavar: 'INT',
    validate: v.nonNegativeInt, default: () => 10,
    desc: 'Seconds a client has to send a whole request head; 0 disables the deadline.',
    nodeNote: 'Not in Gunicorn: it guards against slowloris-style clients that trickle headers.',
  }),
  setting({
    name: 'body_timeout', section: 'Security', flags: ['--body-timeout'], metavar: 'INT',
    validate: v.nonNegativeInt, default: () => 30,
    desc: 'Seconds a request body may stay idle (no bytes) before the connection is closed; 0 disables it.',
    nodeNote: 'Not in Gunicorn: it guards against clients that stall mid-body.',
  }),
  setting({
    name: 'reload', section: 'Debugging', flags: ['--reload'], cli: 'switch',
    validate: v.toBool, default: () => false,
    desc: 'Restart workers when code changes. Intended for development; incompatible with preload_app.',
  }),
  setting({
    name: 'spew', section: 'Debugging', flags: ['--spew'], cli: 'switch',
    validate: v.refused('Node has no line-tracing hook like Python\'s sys.settrace; run with NODE_OPTIONS="--inspect" or NODE_DEBUG=net,http instead'),
    default: () => null, defaultDoc: 'False',
    desc: 'Install a trace function that spews every line executed by the server.',
    nodeNote: 'Refused: see the error for the Node alternatives.',
  }),
  setting({
    name: 'check_config', section: 'Debugging', flags: ['--check-config'], cli: 'switch',
    validate: v.toBool, default: () => false,
    desc: 'Check the configuration: load the config file, the plugins and the app, then exit 0, or non-zero with the error.',
  }),
  setting({
    name: 'print_config', section: 'Debugging', flags: ['--print-config'], cli: 'switch',
    validate: v.toBool, default: () => false,
    desc: 'Print the effective settings and where each value came from, then exit.',
  }),
  setting({
    name: 'preload_app', section: 'Server Mechanics', flags: ['--preload'], cli: 'switch',
    validate: v.toBool, default: () => false,
    desc: 'Load application code in the master before the workers start.',
    nodeNote: 'Node has no fork(), so workers still load the app themselves, from disk, and no memory is shared. Preloading makes a broken app fail before any worker starts and gives hooks a loaded app. Unlike Gunicorn, it does not pin the code: a worker started later (HUP, a respawn, TTIN) runs the code on disk at that moment.',
  }),
  setting({
    name: 'sendfile', section: 'Server Mechanics', flags: ['--sendfile'], negativeFlags: ['--no-sendfile'], cli: 'switch',
    validate: v.toBool, default: () => true,
    desc: 'Enables or disables the use of sendfile().',
    nodeNote: 'Node streams files through the event loop; the setting is accepted for compatibility and read by plugins that serve files.',
  }),
  setting({
    name: 'chdir', section: 'Server Mechanics', flags: ['--chdir'], metavar: 'DIR',
    validate: v.existingDir, default: () => process.cwd(), defaultDoc: 'the current directory',
    desc: 'Chdir to specified directory before apps loading.',
  }),
  setting({
    name: 'daemon', section: 'Server Mechanics', flags: ['-D', '--daemon'], cli: 'switch',
    validate: v.toBool, default: () => false,
    desc: 'Daemonize the process: detach from the terminal and run in the background.',
  }),
  setting({
    name: 'raw_env', section: 'Server Mechanics', flags: ['-e', '--env'], cli: 'append', metavar: 'ENV',
    validate: v.envPairs, default: () => [],
    desc: 'Set environment variable (key=value) in the execution environment, e.g. --env FOO=1.',
  }),
  setting({
    name: 'pidfile', section: 'Server Mechanics', flags: ['-p', '--pid'], metavar: 'FILE',
    validate: v.optionalStr, default: () => null,
    desc: 'A filename to use for the PID file. If not set, no PID file will be written.',
  }),
  setting({
    name: 'worker_tmp_dir', section: 'Server Mechanics', flags: ['--worker-tmp-dir'], metavar: 'DIR',
    validate: v.optionalExistingDir, default: () => null,
    desc: 'A directory to use for the worker heartbeat temporary file.',
    nodeNote: 'Workers heart-beat over their IPC channel, so no file is written; the directory is checked to exist and otherwise unused.',
  }),
  setting({
    name: 'user', section: 'Server Mechanics', flags: ['-u', '--user'], metavar: 'USER',
    validate: v.userId, default: () => null, defaultDoc: 'the current user',
    desc: 'Switch worker processes to run as this user: a numeric uid or a name from /etc/passwd.',
  }),
  setting({
    name: 'group', section: 'Server Mechanics', flags: ['-g', '--group'], metavar: 'GROUP',
    validate: v.groupId, default: () => null, defaultDoc: 'the current group',
    desc: 'Switch worker processes to run as this group: a numeric gid or a name from /etc/group.',
  }),
  setting({
    name: 'umask', section: 'Server Mechanics', flags: ['-m', '--umask'], metavar: 'INT',
    validate: v.umask, default: () => 0, defaultDoc: '0',
    desc: 'A bit mask for the file mode on files written by gunicorn-ts; affects unix socket permissions. Accepts "0", "0xFF", "0022", "0o22".',
  }),
  setting({
    name: 'tmp_upload_dir', section: 'Server Mechanics', flags: [],
    validate: v.optionalStr, default: () => null,
    desc: 'Directory to store temporary request data as they are read.',
    nodeNote: 'Request bodies are streams in Node and are never spooled by the server; accepted for compatibility.',
  }),
  setting({
    name: 'secure_scheme_headers', section: 'Server Mechanics', flags: [],
    validate: v.stringDict,
    default: () => ({ 'X-FORWARDED-PROTOCOL': 'ssl', 'X-FORWARDED-PROTO': 'https', 'X-FORWARDED-SSL': 'on' }),
    desc: 'Headers and values that a front-end proxy uses to indicate HTTPS requests. Header names are case-insensitive; values are compared exactly.',
    nodeNote: 'A matching request from an allowed address is seen by the app as https: `req.scheme` is "https" and a fetch handler gets an https:// Request URL.',
  }),
  setting({
    name: 'forwarded_allow_ips', section: 'Server Mechanics', flags: ['--forwarded-allow-ips'], metavar: 'STRING',
    validate: v.ipAllowList, default: () => ['127.0.0.1'],
    desc: 'Front-end IPs allowed to set secure headers (comma separated), or "*" to trust every address.',
  }),
  setting({
    name: 'accesslog', section: 'Logging', flags: ['--access-logfile'], metavar: 'FILE',
    validate: v.optionalStr, default: () => null,
    desc: 'The access log file to write to. "-" means log to stderr. Unset: no access log.',
  }),
  setting({
    name: 'access_log_format', section: 'Logging', flags: ['--access-logformat'], metavar: 'STRING',
    validate: v.toStr, default: () => DEFAULT_ACCESS_LOG_FORMAT,
    desc: 'The access log format, with the atoms h l u t r s b f a T D L p {Header}i {Header}o.',
  }),
  setting({
    name: 'errorlog', section: 'Logging', flags: ['--error-logfile', '--log-file'], metavar: 'FILE',
    validate: v.nonEmptyStr, default: () => '-',
    desc: 'The error log file to write to. "-" means log to stderr.',
  }),
  setting({
    name: 'loglevel', section: 'Logging', flags: ['--log-level'], metavar: 'LEVEL',
    validate: v.oneOf(['debug', 'info', 'warning', 'error', 'critical'] as const), default: () => 'info' as const,
    desc: 'The granularity of error log outputs: debug, info, warning, error or critical.',
  }),
  setting({
    name: 'logger_class', section: 'Logging', flags: ['--logger-class'], metavar: 'STRING',
    validate: v.nonEmptyStr, default: () => 'glogging',
    desc: 'The logger to use: glogging (default; alias simple), statsd, syslog, or a plugin string.',
  }),
  setting({
    name: 'logconfig', section: 'Logging', flags: ['--log-config'], metavar: 'FILE',
    validate: v.optionalStr, default: () => null,
    desc: 'A JSON file of pino options for the error log: level (overrides loglevel, as a Python logging config does), msgPrefix, enabled.',
    nodeNote: "Gunicorn reads Python's logging config format; gunicorn-ts reads pino options as JSON instead. Only the options that keep Gunicorn's line format are accepted; any other is refused with its name.",
  }),
  setting({
    name: 'syslog_addr', section: 'Logging', flags: ['--log-syslog-to'], metavar: 'SYSLOG_ADDR',
    validate: v.syslogAddress, default: () => 'udp://localhost:514',
    desc: "Address to send syslog messages: 'unix://PATH#TYPE' (stream or dgram), 'udp://HOST:PORT' or 'tcp://HOST:PORT'.",
  }),
  setting({
    name: 'syslog', section: 'Logging', flags: ['--log-syslog'], cli: 'switch',
    validate: v.toBool, default: () => false,
    desc: 'Send the error log to syslog too (loads the syslog logger plugin).',
    nodeNote: 'The syslog logger plugin is not built yet: setting this stops the start with GTS_ERR_PLUGIN_UNAVAILABLE.',
  }),
  setting({
    name: 'syslog_prefix', section: 'Logging', flags: ['--log-syslog-prefix'], metavar: 'SYSLOG_PREFIX',
    validate: v.optionalStr, default: () => null,
    desc: 'Use this as the program name in syslog entries, as gunicorn-ts.<prefix>.',
  }),
  setting({
    name: 'syslog_facility', section: 'Logging', flags: ['--log-syslog-facility'], metavar: 'SYSLOG_FACILITY',
    validate: v.oneOf(['auth', 'authpriv', 'cron', 'daemon', 'ftp', 'kern', 'lpr', 'mail', 'news', 'security', 'syslog', 'user', 'uucp', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'] as const),
    default: () => 'user',
    desc: 'Syslog facility name.',
  }),
  setting({
    name: 'enable_stdio_inheritance', section: 'Logging', flags: ['-R', '--enable-stdio-inheritance'], cli: 'switch',
    validate: v.toBool, default: () => false,
    desc: 'Enable inheritance for stdio file descriptors in daemon mode.',
  }),
  setting({
    name: 'statsd_host', section: 'Logging', flags: ['--statsd-host'], metavar: 'STATSD_ADDR',
    validate: v.hostPort, default: () => null,
    desc: 'host:port of the statsd server to log to (loads the statsd logger plugin).',
    nodeNote: 'The statsd logger plugin is not built yet: setting this stops the start with GTS_ERR_PLUGIN_UNAVAILABLE.',
  }),
  setting({
    name: 'statsd_prefix', section: 'Logging', flags: ['--statsd-prefix'], metavar: 'STATSD_PREFIX',
    validate: v.toStr, default: () => '',
    desc: 'Prefix to use when emitting statsd metrics (a trailing . is added, if not provided).',
  }),
  setting({
    name: 'proc_name', section: 'Process Naming', flags: ['-n', '--name'], metavar: 'STRING',
    validate: v.optionalStr, default: () => null,
    desc: 'A base to use for process titles (ps, top), e.g. "gunicorn-ts: master [NAME]".',
  }),
  setting({
    name: 'default_proc_name', section: 'Process Naming', flags: [],
    validate: v.nonEmptyStr, default: () => 'gunicorn-ts',
    desc: 'Internal setting: the process title base when proc_name is unset (the app spec is shown beside it).',
  }),
  setting({
    name: 'django_settings', section: 'Django', flags: ['--settings'], metavar: 'STRING',
    validate: v.refused('Django is Python; set your framework\'s settings with --env (e.g. --env NODE_ENV=production) or in the config file'),
    default: () => null, defaultDoc: 'None',
    desc: 'The Python path to a Django settings module (deprecated in Gunicorn).',
    nodeNote: 'Refused.',
  }),
  setting({
    name: 'pythonpath', section: 'Server Mechanics', flags: ['--pythonpath', '--module-path'], metavar: 'STRING',
    validate: v.toStrList, default: () => [],
    desc: 'Comma-separated directories searched for app modules and plugin packages, before the working directory.',
    nodeNote: 'The Node meaning of Gunicorn\'s pythonpath: extra places to find the app\'s `MODULE` in (a file such as `app.js`, a bare name such as `app` for app.js, or a package) and plugin package names. A `./` or absolute MODULE is not searched for.',
  }),
  setting({
    name: 'paste', section: 'Server Mechanics', flags: ['--paste', '--paster'], metavar: 'STRING',
    validate: v.refused('Paste deploy files are a Python format; name the app as MODULE:EXPORT and put server settings in a gunicorn.conf.js'),
    default: () => null, defaultDoc: 'None',
    desc: 'Load a paste.deploy config file.',
    nodeNote: 'Refused.',
  }),
  setting({
    name: 'plugins', section: 'Plugins', flags: ['--plugin'], cli: 'append', metavar: 'PLUGIN',
    validate: v.toAppendList, default: () => [],
    desc: 'Plugin strings to load in the master and in every worker (short name, egg:PKG#NAME, package name or ./file.js:Export).',
  }),
  hook('on_starting', 'on_starting(server)', 'Called just before the master process is initialized.'),
  hook('on_reload', 'on_reload(server)', 'Called to recycle workers during a reload via SIGHUP.'),
  hook('when_ready', 'when_ready(server)', 'Called just after the server is started.'),
  hook('pre_fork', 'pre_fork(server, worker)', 'Called just before a worker is spawned.'),
  hook('post_fork', 'post_fork(server, worker)', 'Called just after a worker has been spawned.',
    'Runs in the master once the worker process exists (worker.pid is set): Node has no fork(), so the child starts fresh; put per-process setup in post_worker_init.'),
  hook('post_worker_init', 'post_worker_init(worker)', 'Called in the worker just after it has loaded the application.'),
  hook('worker_int', 'worker_int(worker)', 'Called in the worker just after it received SIGINT or SIGQUIT.'),
  hook('worker_abort', 'worker_abort(worker)', 'Called in the worker when it receives SIGABRT, which generally happens on timeout.',
    'A worker whose event loop is blocked cannot run JavaScript, so the hook only runs when the loop is free; the master follows with SIGKILL.'),
  hook('pre_exec', 'pre_exec(server)', 'Called just before a new master process is spawned (USR2).'),
  hook('pre_request', 'pre_request(worker, req)', 'Called in the worker just before it processes the request.',
    'req is the Node request (http.IncomingMessage): req.method, req.url (path and query, where Gunicorn has req.path and req.query), req.headers. Throwing fails the request with a 500 and the app is not called, as in Gunicorn. Without one, the worker logs "METHOD PATH" at debug level, as Gunicorn\'s default pre_request does; setting one replaces that line.'),
  hook('post_request', 'post_request(worker, req, res)', 'Called in the worker after it has sent the response.',
    "Gunicorn passes (worker, req, environ, resp); Node has no environ, so it is (worker, req, res)."),
  hook('worker_exit', 'worker_exit(server, worker)', 'Called in the master just after a worker has exited.'),
  hook('nworkers_changed', 'nworkers_changed(server, new_value, old_value)', 'Called just after the number of workers has been changed; old_value is null the first time.'),
  hook('on_exit', 'on_exit(server)', 'Called just before exiting.'),
  setting({
    name: 'proxy_protocol', section: 'Server Mechanics', flags: ['--proxy-protocol'], cli: 'switch',
    validate: v.toBool, default: () => false,
    desc: 'Enable detection of the PROXY protocol (v1 and v2) from allowed front-ends (loads the proxy-protocol plugin).',
    nodeNote: 'The proxy-protocol plugin is not built yet: setting this stops the start with GTS_ERR_PLUGIN_UNAVAILABLE.',
  }),
  setting({
    name: 'proxy_allow_ips', section: 'Server Mechanics', flags: ['--proxy-allow-from'], metavar: 'STRING',
    validate: v.ipAllowList, default: () => ['127.0.0.1'],
    desc: 'Front-end IPs allowed to send PROXY protocol headers (comma separated), or "*".',
  }),
  setting({
    name: 'keyfile', section: 'SSL', flags: ['--keyfile'], metavar: 'FILE',
    validate: v.optionalStr, default: () => null, desc: 'SSL key file.',
    nodeNote: 'Without it, the key is read from certfile (one PEM file holding both), as Python reads it; a keyfile without a certfile is refused.',
  }),
  setting({
    name: 'certfile', section: 'SSL', flags: ['--certfile'], metavar: 'FILE',
    validate: v.optionalStr, default: () => null, desc: 'SSL certificate file.',
  }),
  setting({
    name: 'ssl_version', section: 'SSL', flags: ['--ssl-version'], metavar: 'VERSION',
    validate: sslVersion, default: () => 'TLS',
    desc: "The TLS protocol versions to allow: TLS (any Node supports), TLSv1_2, TLSv1_3, or Gunicorn's numeric ssl module constants.",
    nodeNote: 'Mapped to Node minVersion/maxVersion; see docs/http.md.',
  }),
  setting({
    name: 'cert_reqs', section: 'SSL', flags: ['--cert-reqs'], metavar: 'INT',
    validate: v.intInRange(0, 2), default: () => 0,
    desc: 'Whether a client certificate is required: 0 none, 1 optional, 2 required.',
  }),
  setting({
    name: 'ca_certs', section: 'SSL', flags: ['--ca-certs'], metavar: 'FILE',
    validate: v.optionalStr, default: () => null, desc: 'CA certificates file.',
  }),
  setting({
    name: 'suppress_ragged_eofs', section: 'SSL', flags: ['--suppress-ragged-eofs'], negativeFlags: ['--no-suppress-ragged-eofs'], cli: 'switch',
    validate: v.toBool, default: () => true, desc: 'Suppress ragged EOFs (a TLS peer closing without close_notify is treated as EOF).',
  }),
  setting({
    name: 'do_handshake_on_connect', section: 'SSL', flags: ['--do-handshake-on-connect'], cli: 'switch',
    validate: v.toBool, default: () => false, desc: 'Whether to perform the TLS handshake on socket connect.',
    nodeNote: 'Node always handshakes as soon as the connection is wrapped; accepted for compatibility.',
  }),
  setting({
    name: 'ciphers', section: 'SSL', flags: ['--ciphers'], metavar: 'STRING',
    validate: v.optionalStr, default: () => null, defaultDoc: "Node's default cipher list",
    desc: 'Ciphers to use, in OpenSSL cipher list format.',
  }),
] as const satisfies readonly SettingSpec[];

export const SETTINGS_BY_NAME: ReadonlyMap<string, SettingSpec> = new Map(SETTINGS.map((s) => [s.name, s]));

/** The fourteen server hooks, in the order the reference lists them. */
export const HOOK_SETTING_NAMES = SETTINGS.filter((s) => s.section === 'Server Hooks').map((s) => s.name);

/** ssl_version is checked as it is read, certfile or not, as Gunicorn checks it when parsing. */
function sslVersion(raw: unknown): string {
  const value = v.nonEmptyStr(raw);
  try {
    resolveTlsVersionFloor(value);
  } catch (err) {
    throw new v.SettingValueError((err as Error).message.replace(/^TLS ssl_version /, ''));
  }
  return value;
}
