// A server's whole process tree, read from /proc: which processes it has, the CPU time they
// used and how much memory they hold. Everything is read fresh each call: workers come and go.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Fields of /proc/PID/stat after the "(comm)" field, which may itself contain spaces. */
function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Live (not zombie) processes whose ancestry reaches rootPid, rootPid first. */
export function treePids(rootPid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields === undefined || fields[0] === 'Z') continue;
    const ppid = Number(fields[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  if (statFields(rootPid) === undefined) return [];
  const pids = [rootPid];
  for (let i = 0; i < pids.length; i++) pids.push(...(children.get(pids[i]) ?? []));
  return pids;
}

export function isAlive(pid) {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== 'Z';
}

/**
 * CPU seconds (user + system, all threads) of the tree, including reaped children's time
 * (cutime/cstime), so a worker that exits between two readings is not lost from the difference.
 */
export function treeCpuSeconds(rootPid) {
  let ticks = 0;
  for (const pid of treePids(rootPid)) {
    const f = statFields(pid);
    // after the comm field: state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14
    if (f !== undefined) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks / CLOCK_TICKS;
}

export function rssKb(pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

/**
 * Samples the tree's RSS on an interval; keeps the peak of the sum and of any one worker: a
 * process below the root (the root is a master, primary or pm2's daemon), or the root itself
 * when it has no children (a single-process server).
 */
export class RssSampler {
  #rootPid;
  #timer;
  peakTreeKb = 0;
  peakWorkerKb = 0;

  constructor(rootPid, intervalMs = 200) {
    this.#rootPid = rootPid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  #sample() {
    let sum = 0;
    const pids = treePids(this.#rootPid);
    pids.forEach((pid, index) => {
      const kb = rssKb(pid);
      sum += kb;
      if (index > 0 || pids.length === 1) this.peakWorkerKb = Math.max(this.peakWorkerKb, kb);
    });
    this.peakTreeKb = Math.max(this.peakTreeKb, sum);
  }

  stop() {
    clearInterval(this.#timer);
    this.#sample();
    return { treeMb: this.peakTreeKb / 1024, workerMb: this.peakWorkerKb / 1024 };
  }
}
