/**
 * The resolved settings of one process: a value for every declared setting and where it came
 * from. Layers are applied lowest first (defaults < config file < GUNICORN_TS_CMD_ARGS < command
 * line), so a later `set` simply wins.
 */
import { gtsError } from '../errors.js';
import { SETTINGS, SETTINGS_BY_NAME, type SettingName, type SettingValues } from './definitions.js';
import type { SettingSpec } from './spec.js';
import { SettingValueError } from './validators.js';

export type SettingSource = 'default' | 'worker_class' | 'config' | 'env' | 'cli' | 'master';

export interface SettingEntry {
  readonly name: SettingName;
  readonly value: unknown;
  readonly source: SettingSource;
}

/** The plain-data form a master hands to its workers: hooks are left out (not serializable). */
export type SerializedSettings = Partial<Record<SettingName, { value: unknown; source: SettingSource }>>;

/** How a setting is named in messages: `workers (-w, --workers)`. */
export function describeSetting(spec: SettingSpec): string {
  return spec.flags.length > 0 ? `${spec.name} (${spec.flags.join(', ')})` : spec.name;
}

export class Settings {
  private readonly values = new Map<SettingName, { value: unknown; source: SettingSource }>();
  /**
   * A digest of the config file's bytes as they were read into these settings (master only):
   * workers import the file again for its hooks, so the master tells when it has changed since.
   */
  configDigest: string | undefined;

  /** Settings holding every default. Defaults are computed now (e.g. $WEB_CONCURRENCY). */
  static withDefaults(): Settings {
    const settings = new Settings();
    for (const spec of SETTINGS) settings.values.set(spec.name, { value: spec.default(), source: 'default' });
    return settings;
  }

  static isName(name: string): name is SettingName {
    return SETTINGS_BY_NAME.has(name);
  }

  get<K extends SettingName>(name: K): SettingValues[K] {
    return this.values.get(name)?.value as SettingValues[K];
  }

  sourceOf(name: SettingName): SettingSource {
    return this.values.get(name)?.source ?? 'default';
  }

  /** Validate and store; `where` names the origin for unknown-setting errors (e.g. the file). */
  set(name: string, raw: unknown, source: SettingSource, where: string = source): void {
    const spec = SETTINGS_BY_NAME.get(name);
    if (spec === undefined) throw gtsError('GTS_ERR_UNKNOWN_SETTING', name, where);
    let value: unknown;
    try {
      value = spec.validate(raw);
    } catch (err) {
      if (err instanceof SettingValueError) {
        if (spec.name === 'spew' || spec.name === 'paste' || spec.name === 'django_settings') {
          throw gtsError('GTS_ERR_UNSUPPORTED_SETTING', describeSetting(spec), err.message);
        }
        // A value the user did not type on this command line: say where it came from.
        throw gtsError('GTS_ERR_INVALID_SETTING', describeSetting(spec), where === source ? err.message : `${err.message} (in ${where})`);
      }
      throw err;
    }
    this.values.set(spec.name as SettingName, { value, source });
  }

  /**
   * A worker class's own defaults (its static `settingDefaults`): each replaces the registry's
   * default where nothing else set the setting, validated as any value is. `where` names the
   * class for errors.
   */
  applyClassDefaults(defaults: Readonly<Record<string, unknown>>, where: string): void {
    for (const [name, value] of Object.entries(defaults)) {
      const source = SETTINGS_BY_NAME.has(name) ? this.sourceOf(name as SettingName) : 'default';
      if (source !== 'default' && source !== 'worker_class') continue;
      this.set(name, value, 'worker_class', where);
    }
  }

  entries(): SettingEntry[] {
    return SETTINGS.map((spec) => ({ name: spec.name, value: this.get(spec.name), source: this.sourceOf(spec.name) }));
  }

  serialize(): SerializedSettings {
    const out: SerializedSettings = {};
    for (const spec of SETTINGS) {
      if (!spec.serializable) continue;
      const entry = this.values.get(spec.name);
      if (entry !== undefined) out[spec.name] = { value: entry.value, source: entry.source };
    }
    return out;
  }

  /** Rebuild from a master's serialized settings; values were validated there already. */
  static deserialize(data: SerializedSettings): Settings {
    const settings = Settings.withDefaults();
    for (const [name, entry] of Object.entries(data)) {
      if (Settings.isName(name) && entry !== undefined) settings.values.set(name, { value: entry.value, source: entry.source });
    }
    return settings;
  }

  clone(): Settings {
    const copy = new Settings();
    for (const [name, entry] of this.values) copy.values.set(name, entry);
    return copy;
  }

  /** The worker class after Gunicorn's rule: sync with threads > 1 means gthread. */
  effectiveWorkerClass(): string {
    const workerClass = this.get('worker_class');
    return workerClass === 'sync' && this.get('threads') > 1 ? 'gthread' : workerClass;
  }

  /** The process title base: proc_name, else default_proc_name. */
  procName(): string {
    return this.get('proc_name') ?? this.get('default_proc_name');
  }
}
