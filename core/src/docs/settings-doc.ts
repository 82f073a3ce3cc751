/** docs/settings.md, generated from the settings registry (npm run docs:settings). */
import { SETTINGS } from '../settings/definitions.js';
import type { SettingSpec } from '../settings/spec.js';

function defaultText(spec: SettingSpec): string {
  if (spec.defaultDoc !== undefined) return spec.defaultDoc;
  const value = spec.default();
  return JSON.stringify(value);
}

export function renderSettingsDoc(): string {
  const out: string[] = [
    '# Settings',
    '',
    'Generated from `core/src/settings/definitions.ts` by `npm run docs:settings`; do not edit by hand.',
    '',
    'Precedence, lowest first: defaults < config file (`-c FILE`, else `./gunicorn.conf.js`) <',
    '`GUNICORN_TS_CMD_ARGS` environment variable < command line. Every setting is reachable in the',
    'config file by its name; those with flags also from the command line.',
    '',
    'An exported name that is not a setting stops the start (`GTS_ERR_UNKNOWN_SETTING`, exit 2),',
    'where Gunicorn ignores names it does not know: a Python config file defines helpers and',
    'imports at top level, an ES module exports only what it means to, so an unknown export is a',
    'typo (`wrokers`). Names starting with `_` are ignored. A hook may declare fewer parameters',
    'than it is called with, not more (as Gunicorn checks a hook\'s arity): a parameter past the',
    'last would always be `undefined`.',
    '',
  ];
  let section = '';
  for (const spec of SETTINGS) {
    if (spec.section !== section) {
      section = spec.section;
      out.push(`## ${section}`, '');
    }
    out.push(`### ${spec.name}`, '');
    const flags = [...spec.flags, ...(spec.negativeFlags ?? [])];
    if (flags.length > 0) out.push(`- Command line: ${flags.map((f) => `\`${f}${spec.cli === 'value' || spec.cli === 'append' ? ` ${spec.metavar ?? 'VALUE'}` : ''}\``).join(', ')}${spec.cli === 'append' ? ' (repeatable)' : ''}`);
    else out.push('- Config file only');
    out.push(`- Default: \`${defaultText(spec)}\``, '', spec.desc, '');
    if (spec.nodeNote !== undefined) out.push(`Node: ${spec.nodeNote}`, '');
  }
  return out.join('\n');
}
