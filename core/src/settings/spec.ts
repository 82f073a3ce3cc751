/** The shape every setting is declared in, once, in definitions.ts. */
export type SettingSection =
  | 'Config File'
  | 'Server Socket'
  | 'Worker Processes'
  | 'Security'
  | 'Debugging'
  | 'Server Mechanics'
  | 'Logging'
  | 'Process Naming'
  | 'Django'
  | 'Server Hooks'
  | 'SSL'
  | 'Plugins';

/**
 * How the command line carries the value:
 * - `value`: `--flag VALUE`;
 * - `append`: `--flag VALUE` repeatable, values collected in order;
 * - `switch`: `--flag` alone sets true (and `--no-flag`, when listed in `flags`, sets false);
 * - `none`: config file only (hooks, dictionaries).
 */
export type CliShape = 'value' | 'append' | 'switch' | 'none';

export interface SettingSpec<T = unknown> {
  readonly name: string;
  readonly section: SettingSection;
  readonly flags: readonly string[];
  /** Flags that set a switch to false, e.g. `--no-sendfile`. */
  readonly negativeFlags?: readonly string[];
  readonly cli: CliShape;
  readonly metavar?: string;
  readonly validate: (raw: unknown) => T;
  readonly default: () => T;
  /** The default as the docs show it, where `default()` depends on the machine. */
  readonly defaultDoc?: string;
  readonly desc: string;
  /** What the setting means in Node where Gunicorn's text talks about Python. */
  readonly nodeNote?: string;
  /** False for functions: hooks cannot cross a process boundary and are re-read by workers. */
  readonly serializable: boolean;
}
