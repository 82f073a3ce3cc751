/**
 * @gunicorn-ts/core: the public API for plugins (worker classes, loggers, protocol handlers)
 * and for embedding. Everything a plugin needs is exported from here; deep imports are not
 * part of the contract.
 */
export { GtsError, gtsError, isGtsError, describeError, errorTable, type GtsErrorCode } from './errors.js';
export { TOKENS, createContainer, construct, inject, injectable, type DependencyContainer, type InjectionToken } from './container.js';

export { SETTINGS, SETTINGS_BY_NAME, HOOK_SETTING_NAMES, type SettingName, type SettingValues } from './settings/definitions.js';
export type { SettingSpec, SettingSection, CliShape } from './settings/spec.js';
export { Settings, describeSetting, type SettingEntry, type SettingSource, type SerializedSettings } from './settings/settings.js';
export { SettingValueError, type HookFunction } from './settings/validators.js';

export { loadConfig, loadWorkerSettings, ENV_ARGS_VARIABLE, type Invocation } from './config/load-config.js';
export { readConfigFile, DEFAULT_CONFIG_FILE } from './config/config-file.js';

export {
  createArbiterHooks,
  createWorkerHooks,
  guardSyncHooks,
  type ArbiterHooks,
  type WorkerHooks,
  type ArbiterApi,
  type WorkerApi,
  type WorkerInfo,
  type ConnectionContext,
} from './hooks/hooks.js';
export { tapArbiterConfigHooks, tapWorkerConfigHooks, defaultPreRequest, ARBITER_HOOK_BINDINGS, WORKER_HOOK_BINDINGS } from './hooks/config-hooks.js';

export type { GtsPlugin, PluginContext, ArbiterPluginContext, WorkerPluginContext, PluginMeta } from './plugins/plugin.js';
export { PluginResolver, expectClass, CORE_VERSION, type ResolvedPlugin } from './plugins/resolver.js';
export { BUILTIN_PLUGINS, type PluginKind } from './plugins/builtins.js';
export { loadPlugins, applyPlugins, pluginSpecs, type LoadedPlugin } from './plugins/load-plugins.js';

export type { Logger, LogLevel } from './logging/logger.js';
export { GLogger, formatLogDate } from './logging/glogging.js';
export { createLogger, loggerSpec } from './logging/create-logger.js';

export { loadApp, type LoadedApp, type AppKind, type LoadAppOptions } from './app/load-app.js';
export { adaptFetchHandler, type FetchHandler, type NodeRequestListener } from './app/fetch-adapter.js';
export { parseAppSpec, type AppSpec } from './app/app-spec.js';
export { appSearchPaths } from './app/search-paths.js';
export { renderSettingsDoc } from './docs/settings-doc.js';

// The arbiter and the worker base (issue 4): what worker plugins build on.
export { runArbiter, Arbiter, WORKER_BOOT_ERROR, APP_LOAD_ERROR } from './arbiter/index.js';
export type { ListenerInfo } from './arbiter/messages.js';
export { Worker, isWorkerClass } from './worker/base.js';
export type { WorkerContext } from './worker/context.js';
export { createAcceptor, acceptedSocket, type Acceptor, type Accepted, type AcceptedFd, type AcceptHandler, type AcceptorOptions } from './worker/acceptor.js';
export { socketFromFd, type FdSocketOptions, type PeerAddress } from './worker/socket-from-fd.js';
export { corkUntilShutdown } from './worker/response-cork.js';
export { nativeAddon, type NativeAddon } from './worker/native.js';
export { tlsContextFromSettings } from './worker/tls-settings.js';

export {
  HttpConnection,
  HttpRequest,
  HttpResponse,
  DEFAULT_HTTP_PROTOCOL_OPTIONS,
  MAX_HEAD_BYTES,
  MAX_REQUEST_FIELDS,
  DEFAULT_ACCESS_LOG_FORMAT,
  compileAccessLogFormat,
  formatAccessLog,
  formatLogTime,
  HTTP_ERRORS,
  HttpErrorCode,
  HttpProtocolError,
  HttpResponseError,
  TlsConfigError,
  createTlsContext,
  resolveTlsVersionFloor,
  wrapTlsSocket,
  SchemeResolver,
  normalizeIp,
  type HttpSocket,
  type HttpCallbacks,
  type HttpProtocolOptions,
  type RequestListener,
  type AccessLogFormatter,
  type AccessLogInfo,
  type TlsServerContext,
  type TlsSettings,
} from './http/index.js';
