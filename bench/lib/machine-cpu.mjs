// CPU time of the whole machine and of this harness (its reaped children, i.e. wrk, included),
// so a run can tell how much CPU went to processes that are neither the server nor wrk: other
// work on a shared 2-core machine skews a row, and the harness re-runs a row it skewed.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Busy CPU seconds of all cores since boot (/proc/stat: everything but idle and iowait). */
export function machineCpuSeconds() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + (steal ?? 0)) / CLOCK_TICKS;
}

/** This process's CPU seconds plus those of its children already reaped (wrk, once it exits). */
export function harnessCpuSeconds() {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLOCK_TICKS;
}
