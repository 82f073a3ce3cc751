/**
 * Reading a config file: .json, or a JS module (.js, .mjs, .cjs) that exports settings by name
 * (named exports, a default-exported object, or module.exports), hooks as functions and a
 * `plugins` list. Names starting with "_" are private helpers of the file and ignored.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { addSyntaxErrorLocation } from '../app/syntax-location.js';
import { describeError, gtsError, userCodeError } from '../errors.js';
import { Settings, type SettingSource } from '../settings/settings.js';

export const DEFAULT_CONFIG_FILE = 'gunicorn.conf.js';

const SUPPORTED = new Set(['.js', '.mjs', '.cjs', '.json']);

export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  if (!existsSync(path)) throw gtsError('GTS_ERR_CONFIG_NOT_FOUND', path);
  const ext = extname(path);
  if (!SUPPORTED.has(ext)) {
    throw gtsError('GTS_ERR_CONFIG_SHAPE', path, `unsupported extension "${ext}" (use .js, .mjs, .cjs or .json)`);
  }
  let exported: unknown;
  if (ext === '.json') {
    try {
      exported = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw gtsError('GTS_ERR_CONFIG_LOAD', path, describeError(err));
    }
    return settingsObject(exported, path);
  }
  try {
    // HUP re-reads the file: drop the CommonJS cache and bust the ESM one, or we'd get the old values.
    const require = createRequire(path);
    delete require.cache[path];
    exported = await import(`${pathToFileURL(path).href}?load=${Date.now()}`);
  } catch (err) {
    // A config file is code: where it failed is shown under the error, as for an app.
    addSyntaxErrorLocation(err, path);
    throw userCodeError('GTS_ERR_CONFIG_LOAD', err, path);
  }
  return settingsObject(exported, path);
}

function settingsObject(exported: unknown, path: string): Record<string, unknown> {
  if (exported === null || typeof exported !== 'object' || Array.isArray(exported)) {
    throw gtsError('GTS_ERR_CONFIG_SHAPE', path, 'must export an object of settings');
  }
  const out: Record<string, unknown> = {};
  const record = exported as Record<string, unknown>;
  const fromDefault = record['default'];
  if (fromDefault !== null && typeof fromDefault === 'object' && !Array.isArray(fromDefault)) Object.assign(out, fromDefault);
  for (const [key, value] of Object.entries(record)) {
    if (key !== 'default' && key !== 'module.exports') out[key] = value;
  }
  return out;
}

/** Apply a config file's values to `settings`; unknown names are an error naming the file. */
export function applyConfigObject(settings: Settings, values: Record<string, unknown>, path: string, source: SettingSource): void {
  for (const [name, value] of Object.entries(values)) {
    // `config` only means something on the command line, as in Gunicorn; `_x` are file-private helpers.
    if (name.startsWith('_') || name === 'config') continue;
    settings.set(name, value, source, `config file ${path}`);
  }
}

/** A digest of the file's bytes now, or undefined when it cannot be read. */
export function fileDigest(path: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}

/** The config file to use: -c wherever given, else ./gunicorn.conf.js when it exists. */
export function configPathFor(explicit: string | null | undefined, cwd: string): string | null {
  if (explicit !== null && explicit !== undefined) return resolve(cwd, explicit);
  const fallback = resolve(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(fallback) ? fallback : null;
}
