/**
 * Settings for one run, by precedence: defaults < config file < GUNICORN_TS_CMD_ARGS <
 * command line. The master calls this at start and again on HUP with the same invocation;
 * a worker instead takes its master's serialized settings and re-reads only the config file's
 * functions (loadWorkerSettings), since functions cannot be sent between processes.
 */
import type { ParsedCommandLine } from '../cli/program.js';
import { gtsError } from '../errors.js';
import { CORE_VERSION } from '../plugins/resolver.js';
import { SETTINGS_BY_NAME, type SettingName } from '../settings/definitions.js';
import { Settings, type SerializedSettings, type SettingSource } from '../settings/settings.js';
import { applyConfigObject, configPathFor, fileDigest, readConfigFile } from './config-file.js';
import { shellSplit } from './shell-split.js';

export const ENV_ARGS_VARIABLE = 'GUNICORN_TS_CMD_ARGS';

export interface Invocation {
  /** Command-line arguments after the program name. */
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export async function loadConfig(invocation: Invocation): Promise<Settings> {
  // commander is loaded here, not at the top: worker processes import this module (through the
  // core index) but never parse a command line, and every module a worker loads costs it memory.
  const { parseCommandLine } = await import('../cli/program.js');
  const cli = parseCommandLine(invocation.argv, { version: CORE_VERSION });
  const envText = invocation.env[ENV_ARGS_VARIABLE];
  const fromEnv = envText === undefined || envText.trim() === '' ? undefined : parseCommandLine(shellSplit(envText), { version: CORE_VERSION, forEnvironment: true });

  const settings = Settings.withDefaults();
  const explicitConfig = (cli.values.get('config') ?? fromEnv?.values.get('config')) as string | undefined;
  const configPath = configPathFor(explicitConfig, invocation.cwd);
  if (configPath !== null) {
    settings.configDigest = fileDigest(configPath);
    applyConfigObject(settings, await readConfigFile(configPath), configPath, 'config');
  }
  if (fromEnv !== undefined) applyParsed(settings, fromEnv, 'env', ENV_ARGS_VARIABLE);
  applyParsed(settings, cli, 'cli');
  if (configPath !== null) settings.set('config', configPath, settings.sourceOf('config') === 'default' ? 'default' : settings.sourceOf('config'));
  checkCombinations(settings);
  return settings;
}

function applyParsed(settings: Settings, parsed: ParsedCommandLine, source: SettingSource, where: string = source): void {
  for (const [name, value] of parsed.values) settings.set(name, value, source, where);
  if (parsed.app !== undefined) settings.set('app', parsed.app, source, where);
}

/** Rules that involve more than one setting. */
function checkCombinations(settings: Settings): void {
  if (settings.get('reload') && settings.get('preload_app')) {
    throw gtsError('GTS_ERR_CONFLICTING_SETTINGS', 'reload (--reload) cannot be used with preload_app (--preload): the reloader restarts workers to load new code, which a preloaded app would not pick up');
  }
  // A certfile alone may hold the key too (one PEM with both), as Python's wrap_socket reads it.
  if (settings.get('keyfile') !== null && settings.get('certfile') === null) {
    throw gtsError('GTS_ERR_CONFLICTING_SETTINGS', 'keyfile (--keyfile) needs certfile (--certfile)');
  }
}

/** A worker's settings: its master's values, plus the config file's hook functions re-imported. */
export async function loadWorkerSettings(serialized: SerializedSettings): Promise<Settings> {
  const settings = Settings.deserialize(serialized);
  const configPath = settings.get('config');
  if (configPath === null) return settings;
  const fileValues = await readConfigFile(configPath);
  const functions: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fileValues)) {
    const spec = SETTINGS_BY_NAME.get(name);
    if (spec !== undefined && !spec.serializable) functions[name] = value;
  }
  // Hooks given as functions are only ever set by the config file, so the file is their source.
  applyConfigObject(settings, functions, configPath, 'config');
  return settings;
}

export type { SettingName };
