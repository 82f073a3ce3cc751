/** --print-config: every effective setting, its value and where the value came from. */
import type { Settings, SettingSource } from '../settings/settings.js';

const SOURCE_LABELS: Readonly<Record<SettingSource, string>> = {
  default: 'default',
  worker_class: 'worker class default',
  config: 'config file',
  env: 'GUNICORN_TS_CMD_ARGS',
  cli: 'command line',
  master: 'master',
};

export function renderValue(value: unknown): string {
  if (typeof value === 'function') return `<function ${value.name || 'anonymous'}>`;
  if (value === null) return 'null';
  return JSON.stringify(value);
}

export function printConfig(settings: Settings): string {
  const entries = settings.entries();
  const width = Math.max(...entries.map((e) => e.name.length));
  const effectiveWorkerClass = settings.effectiveWorkerClass();
  const lines = entries.map((e) => {
    let source = SOURCE_LABELS[e.source];
    if (e.source === 'config') source = `config file ${settings.get('config') ?? ''}`.trim();
    if (e.name === 'workers' && e.source === 'default' && (process.env['WEB_CONCURRENCY'] ?? '').trim() !== '') source = 'WEB_CONCURRENCY';
    // As the arbiter: sync with threads > 1 runs gthread (see Settings.effectiveWorkerClass).
    if (e.name === 'worker_class' && effectiveWorkerClass !== e.value) source += `; ${effectiveWorkerClass} runs: threads > 1`;
    return `${e.name.padEnd(width)} = ${renderValue(e.value)}  (${source})`;
  });
  return `${lines.join('\n')}\n`;
}
