// Runs wrk with wrk/report.lua and returns its summary, parsed from the one JSON line the
// script's done() hook prints.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPORT_SCRIPT = fileURLToPath(new URL('../wrk/report.lua', import.meta.url));

/** wrk processes running now, so an interrupted harness can stop them too. */
const running = new Set();

export function stopAllWrk() {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * @param {{ url: string, threads: number, connections: number, duration: string,
 *           headers?: string[], latency?: boolean, timeout?: string }} options
 */
export function runWrk(options) {
  const args = ['-t', String(Math.min(options.threads, options.connections)), '-c', String(options.connections), '-d', options.duration];
  args.push('--timeout', options.timeout ?? '5s', '-s', REPORT_SCRIPT);
  if (options.latency) args.push('--latency');
  for (const header of options.headers ?? []) args.push('-H', header);
  args.push(options.url);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      running.delete(child);
      const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
      if (code !== 0 || line === undefined) {
        reject(new Error(`wrk ${args.join(' ')} exited ${code}: ${(err || out).trim().slice(0, 500)}`));
        return;
      }
      const summary = JSON.parse(line.slice('WRK_JSON '.length));
      const e = summary.errors;
      resolve({
        requests: summary.requests,
        rps: summary.requests / (summary.duration_us / 1e6),
        p50Ms: summary.latency_us.p50 / 1000,
        p99Ms: summary.latency_us.p99 / 1000,
        maxMs: summary.latency_us.max / 1000,
        // wrk's non-2xx/3xx responses plus every socket error
        errors: e.status + e.connect + e.read + e.write + e.timeout,
        errorDetail: e,
        text: out,
      });
    });
  });
}
