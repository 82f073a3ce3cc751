/** Parsing an app spec: `MODULE`, `MODULE:EXPORT` or `MODULE:factory()`. */
import { gtsError } from '../errors.js';
import { splitModuleExport } from '../util/module-resolution.js';

export interface AppSpec {
  readonly module: string;
  /** undefined: try `app`, then `default`, then the module itself. */
  readonly exportName: string | undefined;
  /** `MODULE:createApp()`: call the export (with no arguments) to get the app. */
  readonly callFactory: boolean;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export function parseAppSpec(spec: string): AppSpec {
  const trimmed = spec.trim();
  if (trimmed === '') throw gtsError('GTS_ERR_APP_SPEC', spec, 'it is empty; expected MODULE:EXPORT');
  const { module, exportName } = splitModuleExport(trimmed);
  if (module === '') throw gtsError('GTS_ERR_APP_SPEC', spec, 'the module part is empty');
  if (exportName === undefined) return { module, exportName: undefined, callFactory: false };
  const factory = /^(.+)\(\)$/.exec(exportName);
  const name = factory?.[1] ?? exportName;
  if (!IDENTIFIER.test(name)) {
    throw gtsError('GTS_ERR_APP_SPEC', spec, `"${exportName}" is not an export name or a factory call like createApp()`);
  }
  return { module, exportName: name, callFactory: factory !== null };
}
