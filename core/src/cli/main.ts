/**
 * The gunicorn-ts command: settings first (so a bad flag fails before anything starts), then
 * --print-config / --check-config, else the arbiter. Every error a user can cause ends here as
 * one line on stderr and a non-zero exit; only unexpected errors print a stack.
 */
import { runArbiter } from '../arbiter/index.js';
import { loadConfig, type Invocation } from '../config/load-config.js';
import { describeWithTrace, GtsError, gtsError } from '../errors.js';
import { checkConfig } from './check-config.js';
import { printConfig } from './print-config.js';
import { PluginResolver } from '../plugins/resolver.js';
import { resolveWorkerClass } from '../plugins/worker-class.js';
import type { Settings } from '../settings/settings.js';
import { CommandLineExit } from './program.js';

export async function main(invocation: Invocation): Promise<number> {
  try {
    const settings = await loadConfig(invocation);
    if (settings.get('print_config')) {
      await applyWorkerClassDefaults(settings);
      process.stdout.write(printConfig(settings));
      return 0;
    }
    if (settings.get('check_config')) {
      const report = await checkConfig(settings);
      process.stdout.write(`Config OK: app ${report.app}, worker ${report.workerClass}${report.plugins.length > 0 ? `, plugins ${report.plugins.join(', ')}` : ''}\n`);
      return 0;
    }
    if (settings.get('app') === null) throw gtsError('GTS_ERR_USAGE', 'No application module specified. Usage: gunicorn-ts [OPTIONS] MODULE:EXPORT');
    return await runArbiter(invocation, settings);
  } catch (err) {
    return reportFatal(err);
  }
}

/**
 * --print-config shows the values a start would use, the worker class's own defaults
 * included. A class that cannot be loaded is left out here: printing the settings is what was
 * asked, and --check-config or the start reports the class.
 */
async function applyWorkerClassDefaults(settings: Settings): Promise<void> {
  try {
    await resolveWorkerClass(settings, PluginResolver.forSettings(settings));
  } catch {
    // See above.
  }
}

export function reportFatal(err: unknown): number {
  if (err instanceof CommandLineExit) return err.exitCode;
  if (err instanceof GtsError) {
    if (!err.shownOnStderr) process.stderr.write(`gunicorn-ts: error: ${describeWithTrace(err, true)}\n`);
    return err.exitCode;
  }
  process.stderr.write(`gunicorn-ts: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
