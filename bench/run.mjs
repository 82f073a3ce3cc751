#!/usr/bin/env node
// The benchmark: every row of lib/rows.mjs, started one at a time on a fresh loopback port,
// warmed up and measured with wrk on each of its profiles, then stopped by PID. Prints the
// table and the issue-6 target checks, and writes both to results/latest.md.
// Settings (environment): BENCH_DURATION (10s), BENCH_WARMUP (2s), BENCH_WRK_THREADS (2),
// BENCH_ONLY (comma-separated row ids), BENCH_PROFILES (comma-separated profile names),
// BENCH_GTHREAD_THREADS (2), BENCH_GUNICORN (/usr/bin/gunicorn), BENCH_MAX_OTHER_CPU (0.1: the
// share of the machine's CPU that other processes may use during a run before it is repeated),
// BENCH_RETRIES (2: how often a skewed run is repeated; the least skewed one is kept),
// BENCH_QUIET_WAIT (60: seconds to wait, before each profile, for other work to calm down),
// BENCH_ROUNDS (1: how often the whole set of rows is run; each cell reports its median round).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine } from './lib/machine.mjs';
import { harnessCpuSeconds, machineCpuSeconds } from './lib/machine-cpu.mjs';
import { freePort, waitPortFree } from './lib/ports.mjs';
import { RssSampler, treeCpuSeconds } from './lib/proc-tree.mjs';
import { PROFILES } from './lib/profiles.mjs';
import { benchRows } from './lib/rows.mjs';
import { startServer, stopAllServers, stopServer, waitReady } from './lib/server-process.mjs';
import { markdownTable, textTable } from './lib/table.mjs';
import { checkTargets, formatChecks } from './lib/targets.mjs';
import { runWrk, stopAllWrk } from './lib/wrk.mjs';

const bench = fileURLToPath(new URL('.', import.meta.url));
const repo = join(bench, '..');
const env = process.env;
const list = (value) => (value ? value.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
const config = {
  duration: env.BENCH_DURATION || '10s',
  warmup: env.BENCH_WARMUP || '2s',
  wrkThreads: Number(env.BENCH_WRK_THREADS || 2),
  only: list(env.BENCH_ONLY),
  profiles: list(env.BENCH_PROFILES),
  gthreadThreads: Number(env.BENCH_GTHREAD_THREADS || 2),
  gunicorn: env.BENCH_GUNICORN || '/usr/bin/gunicorn',
  maxOtherCpu: Number(env.BENCH_MAX_OTHER_CPU || 0.1),
  retries: Number(env.BENCH_RETRIES ?? 2),
  quietWaitSeconds: Number(env.BENCH_QUIET_WAIT ?? 60),
  rounds: Math.max(1, Number(env.BENCH_ROUNDS || 1)),
};
const resultsDir = join(bench, 'results');
const logsDir = join(resultsDir, 'logs');
mkdirSync(logsDir, { recursive: true });

// A server's environment: ours, minus settings that would change what the servers run.
const baseEnv = { ...env };
for (const name of ['GUNICORN_CMD_ARGS', 'GUNICORN_TS_CMD_ARGS', 'NODE_OPTIONS']) delete baseEnv[name];

// Interrupted: stop wrk and the server now, run nothing more, write no table.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}, stopping servers\n`);
    stopAllWrk();
    stopAllServers().finally(() => process.exit(130));
  });
}

const log = (message) => process.stderr.write(`bench: ${message}\n`);

function durationSeconds(text) {
  const match = /^(\d+(?:\.\d+)?)([smh]?)$/.exec(text);
  if (match === null) throw new Error(`bad duration ${text}`);
  return Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600 }[match[2]];
}

/** One measured wrk run, with the server tree's CPU and RSS and the CPU everything else used. */
async function measureOnce(server, wrkOptions) {
  const machineBefore = machineCpuSeconds();
  const harnessBefore = harnessCpuSeconds();
  const cpuBefore = treeCpuSeconds(server.pid);
  const sampler = new RssSampler(server.pid);
  const result = await runWrk({ ...wrkOptions, duration: config.duration });
  const rss = sampler.stop();
  const cpuSeconds = treeCpuSeconds(server.pid) - cpuBefore;
  const otherCpuSeconds = Math.max(0, machineCpuSeconds() - machineBefore - cpuSeconds - (harnessCpuSeconds() - harnessBefore));
  return { ...result, cpuSeconds, rss, otherCpuSeconds };
}

/**
 * Before a profile: wait (up to BENCH_QUIET_WAIT) until the rest of the machine uses less than
 * BENCH_MAX_OTHER_CPU of it over a second, so a row does not start in the middle of a build.
 */
async function waitForQuiet(server) {
  const deadline = Date.now() + config.quietWaitSeconds * 1000;
  for (let said = false; ; ) {
    const machineBefore = machineCpuSeconds();
    const treeBefore = treeCpuSeconds(server.pid);
    const harnessBefore = harnessCpuSeconds();
    await new Promise((r) => setTimeout(r, 1000));
    const other = machineCpuSeconds() - machineBefore - (treeCpuSeconds(server.pid) - treeBefore) - (harnessCpuSeconds() - harnessBefore);
    if (other <= config.maxOtherCpu * cpus().length || Date.now() >= deadline || interrupted) return;
    if (!said) log(`  waiting for other work on the machine to calm down (${(other * 100).toFixed(0)}% of a core busy)`);
    said = true;
  }
}

async function measure(server, port, profileName) {
  const profile = PROFILES[profileName];
  const wrkOptions = { url: `http://127.0.0.1:${port}/`, threads: config.wrkThreads, ...profile.wrk };
  await waitForQuiet(server);
  await runWrk({ ...wrkOptions, duration: config.warmup });
  // Other work on the machine (a build, someone's tests) skews a row: repeat it, keep the cleanest.
  const budget = config.maxOtherCpu * cpus().length * durationSeconds(config.duration);
  let best = await measureOnce(server, wrkOptions);
  for (let attempt = 0; attempt < config.retries && best.otherCpuSeconds > budget; attempt++) {
    log(`  other processes used ${best.otherCpuSeconds.toFixed(1)} CPU s during the run; repeating it`);
    const again = await measureOnce(server, wrkOptions);
    if (again.otherCpuSeconds < best.otherCpuSeconds) best = again;
  }
  return best;
}

async function runRow(row, profileNames) {
  const unavailable = row.unavailable();
  if (unavailable !== undefined) return profileNames.map((profile) => ({ profile, reason: unavailable }));
  const port = await freePort();
  const spec = row.start(port);
  const server = startServer({ ...spec, env: { ...baseEnv, ...(spec.env ?? {}) }, logFile: join(logsDir, `${row.id}.log`) });
  const out = [];
  try {
    try {
      await waitReady(server, port);
    } catch (err) {
      const lastLine = server.log().trim().split('\n').filter(Boolean).pop() ?? '';
      const reason = `${err.message}${lastLine ? `: ${lastLine.slice(0, 160)}` : ''}`;
      log(`${row.label}: not available (${reason})`);
      return profileNames.map((profile) => ({ profile, reason }));
    }
    for (const profile of profileNames) {
      if (interrupted) break;
      log(`${row.label}: ${profile}`);
      try {
        out.push({ profile, result: await measure(server, port, profile) });
      } catch (err) {
        out.push({ profile, reason: err.message.slice(0, 200) });
      }
    }
    return out;
  } finally {
    const killed = await stopServer(server);
    if (killed > 0) log(`${row.label}: ${killed} process(es) needed SIGKILL`);
    if (!(await waitPortFree(port))) log(`${row.label}: port ${port} still busy after stop`);
    spec.cleanup?.();
  }
}

const machine = describeMachine(config.gunicorn);
const rows = benchRows({ repo, bench, gthreadThreads: config.gthreadThreads, gunicorn: config.gunicorn }).filter(
  (row) => config.only === undefined || config.only.includes(row.id),
);
// Rounds run every row in turn, so a slow drift of the machine touches all rows alike.
const rounds = [];
for (let round = 1; round <= config.rounds && !interrupted; round++) {
  if (config.rounds > 1) log(`round ${round} of ${config.rounds}`);
  for (const row of rows) {
    if (interrupted) break;
    const profileNames = row.profiles.filter((p) => config.profiles === undefined || config.profiles.includes(p));
    if (profileNames.length === 0) continue;
    for (const entry of await runRow(row, profileNames)) rounds.push({ id: row.id, label: row.label, ...entry });
  }
}

if (interrupted) await new Promise(() => undefined); // the signal handler exits

/** Each (row, profile): the round with the median req/s, whole (its latency, CPU and RSS too). */
function medianRounds(entries) {
  const cells = new Map();
  for (const entry of entries) {
    const key = `${entry.id}\0${entry.profile}`;
    if (!cells.has(key)) cells.set(key, []);
    cells.get(key).push(entry);
  }
  return [...cells.values()].map((cell) => {
    const ran = cell.filter((e) => e.result !== undefined).sort((a, b) => a.result.rps - b.result.rps);
    if (ran.length === 0) return cell[0];
    const median = ran[Math.floor((ran.length - 1) / 2)];
    return { ...median, rounds: ran.map((e) => Math.round(e.result.rps)) };
  });
}
const measured = medianRounds(rounds);

// Group by profile (in PROFILES order), then give each row its ratio to the profile's baseline.
const ordered = Object.keys(PROFILES).flatMap((p) => measured.filter((r) => r.profile === p));
for (const row of ordered) {
  const baseline = measured.find((r) => r.id === PROFILES[row.profile].baseline && r.profile === row.profile);
  if (row.result !== undefined && baseline?.result !== undefined) {
    row.ratio = row.result.rps / baseline.result.rps;
    row.baselineLabel = baseline.id;
  }
}

const checks = checkTargets(ordered);
const roundsNote = config.rounds > 1 ? `; ${config.rounds} rounds, each cell the median round by req/s` : '';
const settingsLine = `wrk -t ${config.wrkThreads}, ${config.duration} per run after a ${config.warmup} warm-up${roundsNote}; gthread rows use --threads ${config.gthreadThreads} unless named`;
const machineLine = `${machine.date}; ${machine.cpu}, ${machine.memory}; ${machine.kernel}; Node ${machine.node}; wrk ${machine.wrk}; Gunicorn ${machine.gunicorn}; load average at start ${machine.load}`;
process.stdout.write(`\n${machineLine}\n${settingsLine}\n\n${textTable(ordered)}\n\nTargets (issue 6):\n${formatChecks(checks, '  ')}\n`);
const profileLegend = Object.entries(PROFILES)
  .map(([name, p]) => `- \`${name}\`: ${p.title}; ratio against \`${p.baseline}\``)
  .join('\n');
writeFileSync(
  join(resultsDir, 'latest.md'),
  `# Benchmark results\n\n${machineLine}\n\n${settingsLine}\n\n${profileLegend}\n\n${markdownTable(ordered)}\n\n## Targets (issue 6)\n\n${formatChecks(checks, '- ')}\n`,
);
log(`table written to ${join(resultsDir, 'latest.md')}; server logs in ${logsDir}`);
