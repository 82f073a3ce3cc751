// Starting one benchmarked server, waiting until it answers, and stopping its whole process
// tree by PID: a polite signal to the root first, SIGKILL to every PID of the tree left after
// a grace period. Output goes to a log file so a failed start can say why.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { isAlive, treePids } from './proc-tree.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Servers still running, so an interrupted harness can stop them on its way out. */
const running = new Set();

/**
 * @param {{ command: string, args: string[], cwd: string, env: Record<string,string>,
 *           logFile: string, stopSignal?: NodeJS.Signals }} spec
 */
export function startServer(spec) {
  const log = openSync(spec.logFile, 'w');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    // Not detached: a new session would also be a new scheduler autogroup on Linux, and the
    // server would then get one group's share of the CPU against wrk's whatever its thread
    // count (about 20 % less throughput for node:cluster here than started from a shell, which
    // is how issue 6's reference numbers were taken). A Ctrl-C reaches the server too; the
    // harness stops it all the same.
    detached: false,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const server = {
    pid: child.pid,
    logFile: spec.logFile,
    stopSignal: spec.stopSignal ?? 'SIGTERM',
    exitStatus: () => exited,
    log: () => {
      try {
        return readFileSync(spec.logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
  running.add(server);
  return server;
}

function httpGetStatus(port) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Resolves when GET / answers 200; rejects if the server exits or the time runs out. */
export async function waitReady(server, port, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const exited = server.exitStatus();
    if (exited !== null) throw new Error(`exited (${exited.signal ?? exited.code}) before answering`);
    if ((await httpGetStatus(port)) === 200) return;
    await sleep(100);
  }
  throw new Error(`did not answer 200 on port ${port} within ${timeoutMs / 1000}s`);
}

/** Stops the tree: stopSignal to the root, then SIGKILL to each PID still alive. */
export async function stopServer(server, graceMs = 8_000) {
  const pids = treePids(server.pid);
  if (pids.length > 0) {
    try {
      process.kill(server.pid, server.stopSignal);
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(isAlive)) await sleep(50);
  // a worker that outlived the root was reparented; pick up any it spawned meanwhile too
  const leftovers = [...new Set(pids.flatMap((pid) => treePids(pid)))].filter(isAlive);
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* raced with its exit */
    }
  }
  while (leftovers.some(isAlive)) await sleep(20);
  running.delete(server);
  return leftovers.length;
}

export async function stopAllServers() {
  for (const server of [...running]) await stopServer(server, 2_000);
}
