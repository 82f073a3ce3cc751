/**
 * The commander program, generated from the settings registry: one option per flag, help text
 * from each setting's description. Values are not taken from commander's own store; every
 * occurrence is recorded in order through commander's option events, so repeated and aliased
 * flags resolve exactly as the registry says.
 */
import { Command, CommanderError, Option } from 'commander';
import { gtsError } from '../errors.js';
import { SETTINGS, type SettingName } from '../settings/definitions.js';
import type { SettingSpec } from '../settings/spec.js';

export interface ParsedCommandLine {
  /** Setting values in the order given; `append` settings collect their values in one array. */
  readonly values: ReadonlyMap<SettingName, unknown>;
  readonly app: string | undefined;
}

export interface ProgramInfo {
  readonly version: string;
  /** For GUNICORN_TS_CMD_ARGS: no positional app, no --help/--version. */
  readonly forEnvironment?: boolean;
}

const USAGE = '[OPTIONS] [APP_MODULE]';

function optionFlags(spec: SettingSpec, flag: string, withShort: string | undefined): string {
  const names = withShort === undefined ? flag : `${withShort}, ${flag}`;
  return spec.cli === 'switch' ? names : `${names} <${spec.metavar ?? 'VALUE'}>`;
}

function describe(spec: SettingSpec): string {
  const def = spec.defaultDoc ?? JSON.stringify(spec.default());
  return `${spec.desc} [${spec.name}; default: ${def}]`;
}

export function parseCommandLine(argv: readonly string[], info: ProgramInfo): ParsedCommandLine {
  const values = new Map<SettingName, unknown>();
  const program = new Command('gunicorn-ts')
    .usage(USAGE)
    .description('Run a Node web app under a pre-fork master process (Gunicorn for Node.js).')
    .helpOption(info.forEnvironment ? false : '-h, --help', 'Show this help and exit.')
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined })
    .showSuggestionAfterError(true);
  if (!info.forEnvironment) {
    program.version(info.version, '-v, --version', 'Show the version and exit.');
    program.argument('[APP_MODULE]', 'The app as MODULE:EXPORT, e.g. app.js:app or my-package:createApp()');
  }
  for (const spec of SETTINGS) {
    if (spec.cli === 'none') continue;
    const name = spec.name as SettingName;
    const shorts = spec.flags.filter((f) => /^-[A-Za-z]$/.test(f));
    const longs = spec.flags.filter((f) => f.startsWith('--'));
    longs.forEach((flag, index) => {
      const option = new Option(optionFlags(spec, flag, index === 0 ? shorts[0] : undefined), index === 0 ? describe(spec) : `Alias of ${longs[0]}.`);
      if (index > 0) option.hideHelp();
      program.addOption(option);
      program.on(`option:${option.name()}`, (value: unknown) => record(values, spec, name, spec.cli === 'switch' ? true : value));
    });
    for (const flag of spec.negativeFlags ?? []) {
      const option = new Option(flag, `Turn ${longs[0]} off.`);
      program.addOption(option);
      // commander reports a --no-X flag under the name X
      program.on(`option:${option.name()}`, () => record(values, spec, name, false));
    }
  }
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        throw new CommandLineExit(0);
      }
      const where = info.forEnvironment ? ' (in GUNICORN_TS_CMD_ARGS)' : '';
      throw gtsError('GTS_ERR_USAGE', `${err.message.replace(/^error: /, '')}${where}`);
    }
    throw err;
  }
  const app = info.forEnvironment ? undefined : (program.args[0] as string | undefined);
  return { values, app };
}

function record(values: Map<SettingName, unknown>, spec: SettingSpec, name: SettingName, value: unknown): void {
  if (spec.cli === 'append') {
    const previous = (values.get(name) as unknown[] | undefined) ?? [];
    values.set(name, [...previous, value]);
  } else {
    values.set(name, value);
  }
}

/** Thrown after commander has printed --help or --version: the CLI exits with this code. */
export class CommandLineExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}
