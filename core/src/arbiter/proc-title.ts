/**
 * Process titles as Gunicorn sets them with setproctitle: `gunicorn-ts: master [NAME]` and
 * `gunicorn-ts: worker [NAME]`, NAME being proc_name, else the app spec. Linux limits a title
 * to the length of the original command line, so workers are spawned with the title as an
 * argument (room to write it, and readable in `ps` even before it is set).
 */
import type { Settings } from '../settings/settings.js';

export const TITLE_PREFIX = 'gunicorn-ts';

export function processName(settings: Settings): string {
  const explicit = settings.get('proc_name');
  if (explicit !== null) return explicit;
  const fallback = settings.get('default_proc_name');
  const app = settings.get('app');
  return fallback === TITLE_PREFIX && app !== null ? app : fallback;
}

export function processTitle(role: 'master' | 'worker', name: string): string {
  return `${TITLE_PREFIX}: ${role} [${name}]`;
}

export function setProcessTitle(title: string): void {
  try {
    process.title = title;
  } catch {
    // Some platforms refuse; a title is cosmetic.
  }
}
