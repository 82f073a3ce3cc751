// One line describing where the benchmark ran, for the results header.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

function version(command, args, pattern) {
  try {
    const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return pattern.exec(out)?.[1] ?? out.trim().split('\n')[0];
  } catch (err) {
    const out = `${err.stdout ?? ''}${err.stderr ?? ''}`;
    return pattern.exec(out)?.[1] ?? 'unknown';
  }
}

export function describeMachine(gunicorn) {
  const cpu = cpus();
  return {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    cpu: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: `Linux ${release()}`,
    node: process.version,
    wrk: version('wrk', ['--version'], /wrk (\S+)/),
    gunicorn: version(gunicorn, ['--version'], /version ([\d.]+)/),
    // other work on the machine skews every number: say how busy it was when we started
    load: loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}
