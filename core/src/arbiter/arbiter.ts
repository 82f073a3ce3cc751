/**
 * The master ("arbiter"), after Gunicorn's arbiter.py. Signal handlers only queue; one loop
 * takes the queued signals and dispatches handle<Signal>, then murders timed-out workers, then
 * fixes the worker count. All process policy lives here; workers only report (ready, heartbeat,
 * retire) and obey signals.
 *
 * Where it differs from Gunicorn, on purpose:
 * - replacements come first: a worker being replaced (HUP, --reload, max_requests) keeps
 *   serving until its replacement reports ready, so capacity never dips;
 * - a timeout is noticed within `timeout` (a precise wake-up, not a 1 s poll of a file);
 * - a worker that fails to boot during a reload rolls the reload back instead of halting.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { createArbiterHooks, guardSyncHooks, type ArbiterApi, type ArbiterHooks } from '../hooks/hooks.js';
import { tapArbiterConfigHooks } from '../hooks/config-hooks.js';
import { CORE_VERSION, PluginResolver } from '../plugins/resolver.js';
import { applyPlugins, loadPlugins, type LoadedPlugin } from '../plugins/load-plugins.js';
import { createLogger } from '../logging/create-logger.js';
import { GLogger } from '../logging/glogging.js';
import type { Logger } from '../logging/logger.js';
import { createContainer, TOKENS, type DependencyContainer } from '../container.js';
import { loadConfig, type Invocation } from '../config/load-config.js';
import { fileDigest } from '../config/config-file.js';
import { bootLimitMs, heartbeatMs, silenceLimitMs } from './worker-limits.js';
import { describeError, describeWithTrace, isGtsError } from '../errors.js';
import { loadApp, type LoadedApp } from '../app/load-app.js';
import { appSearchPaths } from '../app/search-paths.js';
import type { Settings } from '../settings/settings.js';
import { nativeAddon, nativeAddonUnavailableReason } from '../worker/native.js';
import { LoadBoardSlots } from '../worker/load-board.js';
import { workerNodeFlags } from '../worker/node-flags.js';
import { resolveWorkerClass } from '../plugins/worker-class.js';
import { isWorkerMessage, INHERITED_FDS_ENV, PARENT_MASTER_ENV, type WorkerToMaster } from './messages.js';
import { currentParentPid } from './parent-pid.js';
import { Pidfile } from './pidfile.js';
import { processName, processTitle, setProcessTitle } from './proc-title.js';
import { Reloader } from './reloader.js';
import { SignalQueue, type MasterSignal } from './signal-queue.js';
import { closeListeners, createListeners, takeSocketSources, type Listener, type SocketSources } from './sockets.js';
import { SpawnBackoff } from './spawn-backoff.js';
import { WorkerProcess } from './worker-process.js';

/** At start, as Gunicorn's create_sockets: an address in use is tried 5 times, 1 s apart. */
const BIND_ATTEMPTS = 5;
const BIND_RETRY_DELAY_MS = 1000;

/** Gunicorn's exit statuses for a worker that could not boot / could not load the app. */
export const WORKER_BOOT_ERROR = 3;
export const APP_LOAD_ERROR = 4;

/** How long the loop sleeps when nothing is due (Gunicorn's select timeout). */
const IDLE_WAKE_MS = 1000;
/** QUIT/INT: workers get this long to run worker_int and exit before SIGKILL. */
const QUICK_SHUTDOWN_MS = 250;
/** After SIGABRT for a timeout, a worker whose loop is blocked cannot exit: SIGKILL follows. */
const ABORT_GRACE_MS = 500;
/** A worker sent TERM is killed this long after graceful_timeout if it has not exited. */
const TERM_BACKSTOP_MS = 2000;

/** Leave the loop and halt with a status (Gunicorn's HaltServer / StopIteration). */
class HaltServer extends Error {
  constructor(
    readonly reason: string | undefined,
    readonly exitStatus: number,
    readonly graceful: boolean,
  ) {
    super(reason ?? 'halt');
  }
}

export interface ArbiterOptions {
  /** Called once, when the first worker is ready to serve (the daemon tells its launcher). */
  readonly onReady?: (() => void) | undefined;
  /** Called as the master halts, with why (the daemon tells its launcher, if not ready yet). */
  readonly onHalt?: ((reason: string | undefined, exitStatus: number) => void) | undefined;
}

/** What a reload replaced, kept until the new workers prove they boot. */
interface PreviousConfig {
  readonly settings: Settings;
  readonly hooks: ArbiterHooks;
  readonly plugins: readonly LoadedPlugin[];
  readonly generation: number;
}

export class Arbiter implements ArbiterApi {
  readonly pid = process.pid;
  settings: Settings;
  log!: Logger;
  hooks: ArbiterHooks = createArbiterHooks();
  readonly workers = new Map<number, WorkerProcess>();
  /** The app, when preload_app loaded it in the master (hooks may use it). */
  preloadedApp: LoadedApp | undefined;
  readonly container: DependencyContainer = createContainer();

  private numWorkersValue: number | null = null;
  private plugins: readonly LoadedPlugin[] = [];
  private listeners: Listener[] = [];
  /** Shared with the workers so that they balance connections (undefined without the addon). */
  private loadBoard: LoadBoardSlots | undefined;
  private readonly queue = new SignalQueue();
  private workerAge = 0;
  private generation = 0;
  private readonly spawnBackoff = new SpawnBackoff();
  private pidfile: Pidfile | undefined;
  /** The new master spawned by USR2, while it lives. */
  private reexecChild: ChildProcess | undefined;
  private reexecExited = false;
  /** Our old master's pid while we are the new master of a USR2 upgrade (Gunicorn's master_pid). */
  private masterPid = 0;
  private masterName = 'Master';
  private systemd = false;
  private reloader: Reloader | undefined;
  /** The newest configuration (generation) a worker has booted with; -1 before the first. */
  private servedGeneration = -1;
  private previous: PreviousConfig | undefined;
  /** Environment as it was before raw_env, for USR2 and for undoing raw_env on HUP. */
  private readonly originalEnv: NodeJS.ProcessEnv;
  private appliedEnv: string[] = [];
  private readonly startCwd: string;
  private socketSources: SocketSources = { systemdFds: [], inheritedFds: [] };

  constructor(
    private readonly invocation: Invocation,
    settings: Settings,
    private readonly options: ArbiterOptions = {},
  ) {
    this.settings = settings;
    this.originalEnv = { ...process.env };
    this.startCwd = invocation.cwd;
  }

  get numWorkers(): number {
    return this.numWorkersValue ?? 0;
  }

  /** Setting it fires nworkers_changed (old value null the first time), as in Gunicorn. */
  set numWorkers(value: number) {
    const old = this.numWorkersValue;
    this.numWorkersValue = value;
    this.hooks.nworkersChanged.call(this, value, old);
  }

  /** Run until halted; resolves to the exit status. */
  async run(): Promise<number> {
    // Queue signals from the first moment: a USR1 during setup must not start the inspector.
    this.queue.install();
    try {
      await this.setup();
      await this.start();
      setProcessTitle(processTitle('master', this.procName()));
      this.manageWorkers();
      for (;;) {
        this.maybePromoteMaster();
        const signals = await this.queue.wait(this.nextWakeMs());
        for (const signal of signals) await this.dispatch(signal);
        this.reapWorkers();
        this.murderWorkers();
        this.manageWorkers();
      }
    } catch (err) {
      if (err instanceof HaltServer) return await this.halt(err.reason, err.exitStatus, err.graceful);
      if (this.log === undefined) {
        this.queue.uninstall();
        throw err;
      }
      if (isGtsError(err)) {
        // The stack of failing user code (a plugin, a preloaded app) follows, as Gunicorn logs its traceback.
        await this.halt(describeWithTrace(err, true), err.exitCode, false);
        err.shownOnStderr = this.log instanceof GLogger && this.settings.get('errorlog') === '-';
        throw err;
      }
      this.log.exception(err, 'Unhandled exception in main loop');
      await this.halt(undefined, 1, false);
      return 1;
    }
  }

  // ---------------------------------------------------------------- setup and start

  private async setup(): Promise<void> {
    this.applyChdir();
    this.applyEnv();
    const resolver = PluginResolver.forSettings(this.settings);
    this.container.register(TOKENS.Settings, { useValue: this.settings });
    this.container.register(TOKENS.PluginResolver, { useValue: resolver });
    this.log = await createLogger(this.settings, resolver, this.container);
    // As Gunicorn loads worker_class in the master: a string that does not resolve, or a plugin
    // for another core version, fails here once instead of in every worker. Workers skip the
    // check, and get the class's setting defaults with the settings.
    await resolveWorkerClass(this.settings, resolver);
    await this.installHooks(this.settings, resolver);
    this.numWorkers = this.settings.get('workers');
    if (this.settings.get('preload_app')) await this.preload();
  }

  /** Fresh hooks with the config file's functions and the plugins tapped (at start and on HUP). */
  private async installHooks(settings: Settings, resolver: PluginResolver): Promise<void> {
    const hooks = createArbiterHooks();
    guardSyncHooks(hooks, () => this.log);
    tapArbiterConfigHooks(hooks, settings);
    const plugins = await loadPlugins(settings, resolver, this.container);
    this.container.register(TOKENS.ArbiterHooks, { useValue: hooks });
    await applyPlugins(plugins, { role: 'arbiter', settings, container: this.container, log: this.log, coreVersion: CORE_VERSION, hooks, arbiter: this });
    this.hooks = hooks;
    this.plugins = plugins;
  }

  /**
   * preload_app: load the app in the master so a broken app fails before any worker starts,
   * and hooks can see it. Node has no fork(), so workers still import it themselves.
   */
  private async preload(): Promise<void> {
    const spec = this.settings.get('app');
    if (spec === null) return;
    this.preloadedApp = await loadApp(spec, { cwd: this.settings.get('chdir'), searchPaths: appSearchPaths(this.settings) });
    this.container.register(TOKENS.App, { useValue: this.preloadedApp.listener });
  }

  private applyChdir(): void {
    const dir = this.settings.get('chdir');
    if (process.cwd() !== dir) process.chdir(dir);
  }

  /** raw_env (-e KEY=VALUE) into the master's environment, which workers inherit. */
  private applyEnv(): void {
    for (const key of this.appliedEnv) {
      if (key in this.originalEnv) process.env[key] = this.originalEnv[key];
      else delete process.env[key];
    }
    this.appliedEnv = [];
    for (const pair of this.settings.get('raw_env')) {
      const eq = pair.indexOf('=');
      const key = pair.slice(0, eq);
      process.env[key] = pair.slice(eq + 1);
      this.appliedEnv.push(key);
    }
  }

  private async start(): Promise<void> {
    this.log.info('Starting gunicorn-ts %s', CORE_VERSION);
    const parent = Number(process.env[PARENT_MASTER_ENV] ?? 0);
    if (parent > 0) {
      this.masterPid = parent;
      this.masterName = 'Master.2';
    }
    this.checkWorkerTmpDir();
    const pidfile = this.settings.get('pidfile');
    if (pidfile !== null) {
      this.pidfile = new Pidfile(pidfile);
      this.pidfile.create(this.pid);
    }
    this.hooks.onStarting.call(this);

    this.socketSources = takeSocketSources(process.env);
    this.systemd = this.socketSources.systemdFds.length > 0;
    this.listeners = await createListeners(this.settings, this.socketSources, [], {
      attempts: BIND_ATTEMPTS,
      delayMs: BIND_RETRY_DELAY_MS,
      onAddressInUse: (address) => this.log.error('Connection in use: %s. Retrying in 1 second.', address),
    });
    this.log.debug('Arbiter booted');
    this.log.info('Listening at: %s (%s)', this.listeners.map(String).join(','), this.pid);
    this.log.info('Using worker: %s', this.settings.effectiveWorkerClass());
    if (nativeAddon() === undefined) {
      this.log.warning('Native accept addon unavailable (%s): workers accept through net.Server and cannot pause accepting while busy', nativeAddonUnavailableReason());
    }
    this.loadBoard = LoadBoardSlots.create(nativeAddon());
    if (this.settings.get('reload')) this.reloader = new Reloader((file) => this.onCodeChanged(file));
    this.hooks.whenReady.call(this);
  }

  /** worker_tmp_dir is accepted for compatibility: heartbeats go over IPC, no file is written. */
  private checkWorkerTmpDir(): void {
    const dir = this.settings.get('worker_tmp_dir');
    if (dir === null) return;
    this.log.debug('worker_tmp_dir %s: workers heart-beat over IPC, no file is used', dir);
  }

  private procName(): string {
    return processName(this.settings) + (this.masterPid !== 0 ? '.2' : '');
  }

  // ---------------------------------------------------------------- the loop

  private async dispatch(signal: MasterSignal): Promise<void> {
    const name = signal.slice(3).toLowerCase();
    this.log.info('Handling signal: %s', name);
    switch (signal) {
      case 'SIGHUP':
        return this.handleHup();
      case 'SIGTERM':
        throw new HaltServer(undefined, 0, true);
      case 'SIGINT':
      case 'SIGQUIT':
        await this.stop(false);
        throw new HaltServer(undefined, 0, false);
      case 'SIGTTIN':
        this.numWorkers = this.numWorkers + 1;
        return this.manageWorkers();
      case 'SIGTTOU':
        if (this.numWorkers <= 1) return;
        this.numWorkers = this.numWorkers - 1;
        return this.manageWorkers();
      case 'SIGUSR1':
        this.log.reopenFiles();
        return this.killWorkers('SIGUSR1');
      case 'SIGUSR2':
        return this.reexec();
      case 'SIGWINCH':
        return this.handleWinch();
    }
  }

  /** Sleep until the next signal, or until the earliest heartbeat/abort/term deadline. */
  private nextWakeMs(): number {
    let wake = IDLE_WAKE_MS;
    const now = performance.now();
    const spawnWait = this.spawnBackoff.waitMs(now);
    if (spawnWait > 0) wake = Math.min(wake, spawnWait + 1);
    const timeoutMs = silenceLimitMs(this.settings);
    const bootMs = bootLimitMs(this.settings);
    for (const worker of this.workers.values()) {
      if (worker.exited) return 0;
      if (timeoutMs > 0 && !worker.terminating) {
        let due = worker.aborted ? worker.abortedAt + ABORT_GRACE_MS : worker.lastBeat + timeoutMs;
        if (!worker.ready && !worker.aborted) due = Math.min(due, worker.spawnedAt + bootMs);
        wake = Math.min(wake, due - now + 1);
      }
      if (worker.terminating) wake = Math.min(wake, worker.terminatedAt + this.retiringLimitMs() - now + 1);
    }
    return Math.max(0, wake);
  }

  private handleWinch(): void {
    if (this.settings.get('daemon')) {
      this.log.info('graceful stop of workers');
      this.numWorkers = 0;
      this.killWorkers('SIGTERM');
    } else {
      // Debug, as in Gunicorn: a terminal sends WINCH at every resize.
      this.log.debug('SIGWINCH ignored. Not daemonized');
    }
  }

  private maybePromoteMaster(): void {
    if (this.masterPid === 0) return;
    if (currentParentPid() === this.masterPid) return;
    this.log.info('Master has been promoted.');
    this.masterName = 'Master';
    this.masterPid = 0;
    delete process.env[PARENT_MASTER_ENV];
    setProcessTitle(processTitle('master', this.procName()));
  }

  // ---------------------------------------------------------------- workers

  /** Spawn missing workers, retire extra ones oldest first, and retire replaced ones once their replacements are ready. */
  private manageWorkers(): void {
    const live = [...this.workers.values()].filter((w) => !w.exited && !w.terminating);
    const active = live.filter((w) => !w.retiring).sort((a, b) => a.age - b.age);
    if (this.spawnBackoff.waitMs(performance.now()) === 0) {
      for (let missing = this.numWorkers - active.length; missing > 0; missing--) active.push(this.spawnWorker());
    }
    while (active.length > this.numWorkers) this.terminate(active.shift()!);

    // A worker being replaced leaves only when the ready workers can carry the load without it.
    // One replaced before it was ever ready (a second HUP during the first's boot) serves
    // nothing and goes at once; it must not count as capacity, or the serving ones would go.
    const retiring = live.filter((w) => w.retiring).sort((a, b) => a.age - b.age);
    for (const worker of retiring) if (!worker.ready) this.terminate(worker);
    const retiringReady = retiring.filter((w) => w.ready);
    let serving = active.filter((w) => w.ready).length + retiringReady.length;
    for (const worker of retiringReady) {
      if (serving - 1 < this.numWorkers) break;
      this.terminate(worker);
      serving -= 1;
    }
    this.maybeConfirmReload();
  }

  /** Once no worker of the previous configuration serves, a reload can no longer roll back: let the old plugins go. */
  private maybeConfirmReload(): void {
    const previous = this.previous;
    if (previous === undefined) return;
    for (const worker of this.workers.values()) if (!worker.exited && !worker.terminating && worker.generation <= previous.generation) return;
    this.previous = undefined;
    this.shutDownUnlessUsed(previous.hooks);
  }

  private spawnWorker(): WorkerProcess {
    this.warnIfConfigChanged();
    this.workerAge += 1;
    const worker = new WorkerProcess(this.workerAge, this.generation);
    this.hooks.preFork.call(this, worker);
    const board = this.loadBoard;
    const slot = board?.take();
    worker.spawn({
      listeners: this.listeners,
      nodeFlags: workerNodeFlags(this.settings),
      ...(board !== undefined && slot !== undefined ? { loadBoard: { fd: board.fd, slot } } : {}),
      cwd: this.settings.get('chdir'),
      env: process.env,
      boot: {
        age: worker.age,
        ppid: this.pid,
        settings: this.settings.serialize(),
        heartbeatMs: heartbeatMs(this.settings),
        title: processTitle('worker', processName(this.settings)),
      },
      onMessage: (message) => this.onWorkerMessage(worker, message),
      onExit: () => {
        if (slot !== undefined) board?.release(slot);
        if (worker.pid === 0) {
          this.log.error('Could not spawn a worker process in %s: %s', this.settings.get('chdir'), worker.spawnError?.message ?? 'unknown error');
          this.noteEarlyDeath();
        }
        this.queue.wakeup();
      },
    });
    if (worker.pid === 0) return worker;
    this.workers.set(worker.pid, worker);
    this.hooks.postFork.call(this, worker);
    return worker;
  }

  private onWorkerMessage(worker: WorkerProcess, message: unknown): void {
    if (!isWorkerMessage(message)) return;
    worker.lastBeat = performance.now();
    const typed: WorkerToMaster = message;
    switch (typed.type) {
      case 'heartbeat':
        if (typed.busyForMs !== undefined && typed.busyForMs > 0) worker.lastBeat -= typed.busyForMs;
        return;
      case 'ready':
        worker.ready = true;
        // A USR1 held back while it booted (killWorkers): its logs may be the rotated files.
        if (worker.reopenPending) {
          worker.reopenPending = false;
          worker.kill('SIGUSR1');
        }
        this.spawnBackoff.succeeded();
        if (this.servedGeneration < 0) this.options.onReady?.();
        this.servedGeneration = Math.max(this.servedGeneration, worker.generation);
        if (typed.appFile !== undefined) {
          worker.appFile = typed.appFile;
          this.reloader?.watchTree(dirname(typed.appFile));
        }
        this.queue.wakeup();
        return;
      case 'retire':
        // max_requests: the worker has stopped accepting and drains; replace it now.
        if (!worker.terminating) {
          this.log.info('Autorestarting worker after current request (pid:%s, %s requests).', worker.pid, typed.requests);
          this.terminate(worker);
          this.queue.wakeup();
        }
        return;
    }
  }

  private terminate(worker: WorkerProcess): void {
    if (worker.terminating) return;
    worker.terminating = true;
    worker.terminatedAt = performance.now();
    worker.kill('SIGTERM');
  }

  private killWorkers(signal: NodeJS.Signals): void {
    for (const worker of this.workers.values()) {
      if (signal === 'SIGTERM') this.terminate(worker);
      else if (signal === 'SIGUSR1' && !worker.ready) worker.reopenPending = true;
      else worker.kill(signal);
    }
  }

  /**
   * The backstop for a worker told to stop (TERM) in the main loop: it ends its requests by
   * itself within graceful_timeout (a sync worker within timeout, see its gracefulDeadlineMs),
   * so one still alive a little after both is killed.
   */
  private retiringLimitMs(): number {
    return Math.max(this.settings.get('graceful_timeout'), this.settings.get('timeout')) * 1000 + TERM_BACKSTOP_MS;
  }

  /** Kill workers that stopped heart-beating (SIGABRT, then SIGKILL), and TERMed ones that overstay. */
  private murderWorkers(): void {
    const now = performance.now();
    const timeoutMs = silenceLimitMs(this.settings);
    const bootMs = bootLimitMs(this.settings);
    const graceMs = this.retiringLimitMs();
    for (const worker of this.workers.values()) {
      if (worker.exited) continue;
      if (worker.terminating && now - worker.terminatedAt > graceMs) {
        worker.killedBecause = 'it outlived graceful_timeout';
        worker.kill('SIGKILL');
        continue;
      }
      // A retiring worker (HUP, TTOU, max_requests) is still held to timeout, as Gunicorn's
      // murder_workers checks every worker: before, one stuck in a request lived on until
      // graceful_timeout.
      if (timeoutMs === 0) continue;
      if (!worker.aborted) {
        const bootOverdue = !worker.ready && !worker.terminating && now - worker.spawnedAt > bootMs;
        if (now - worker.lastBeat <= timeoutMs && !bootOverdue) continue;
        if (bootOverdue) {
          this.log.critical('WORKER TIMEOUT (pid:%s): not ready after %s s (its boot, post_worker_init or its worker class\'s run() has not finished)', worker.pid, Math.round((now - worker.spawnedAt) / 1000));
        } else {
          this.log.critical('WORKER TIMEOUT (pid:%s)', worker.pid);
        }
        worker.aborted = true;
        worker.abortedAt = now;
        worker.kill('SIGABRT');
      } else if (now - worker.abortedAt >= ABORT_GRACE_MS) {
        worker.killedBecause = 'WORKER TIMEOUT';
        worker.kill('SIGKILL');
      }
    }
  }

  /** Gunicorn's reap_workers: forget exited workers, report how they ended, halt on a boot error. */
  private reapWorkers(): void {
    this.reapReexecChild();
    for (const worker of [...this.workers.values()]) {
      if (!worker.exited) continue;
      this.workers.delete(worker.pid);
      const { exitCode, exitSignal } = worker;
      if (exitSignal != null) {
        if (exitSignal === 'SIGKILL' && worker.killedBecause !== undefined) this.log.error('Worker (pid:%s) was sent SIGKILL (%s)', worker.pid, worker.killedBecause);
        else if (exitSignal === 'SIGKILL') this.log.error('Worker (pid:%s) was sent SIGKILL! Perhaps out of memory?', worker.pid);
        else if (exitSignal === 'SIGTERM') this.log.info('Worker (pid:%s) was sent SIGTERM!', worker.pid);
        else this.log.warning('Worker (pid:%s) was sent %s!', worker.pid, exitSignal);
      } else if (exitCode != null && exitCode !== 0) {
        this.log.error('Worker (pid:%s) exited with code %s.', worker.pid, exitCode);
      }
      this.hooks.workerExit.call(this, worker);
      if (!worker.ready && !worker.terminating) {
        if (exitCode === WORKER_BOOT_ERROR || exitCode === APP_LOAD_ERROR) this.onBootFailure(worker, exitCode);
        else this.noteEarlyDeath();
      }
    }
  }

  /** A worker died before it was ready: the next spawn waits (SpawnBackoff). */
  private noteEarlyDeath(): void {
    const delay = this.spawnBackoff.failed(performance.now());
    if (delay > 0) this.log.warning('Workers keep dying before they are ready; next spawn in %s ms.', delay);
  }

  /**
   * A worker could not boot. Mid-reload, with the previous workers still serving, roll back to
   * them. A configuration that has booted workers before and now cannot (a replacement after
   * max_requests, a crash or TTIN) means the code on disk broke after they loaded it (a
   * rolled-back HUP, a deploy half done): the master keeps its sockets and whatever still
   * serves, and tries again with the spawn back-off, since halting would turn a routine recycle
   * into an outage. A configuration that never booted stops everything rather than respawn
   * forever (Gunicorn's HaltServer): a broken app at start, or a HUP with nothing to roll back to.
   */
  private onBootFailure(worker: WorkerProcess, exitCode: number): void {
    const reason = exitCode === APP_LOAD_ERROR ? 'App failed to load.' : 'Worker failed to boot.';
    const serving = [...this.workers.values()].filter((w) => !w.exited && !w.terminating && w.ready);
    const fallback = serving.filter((w) => w.generation < worker.generation);
    if (fallback.length === 0) {
      if (worker.generation > this.servedGeneration) throw new HaltServer(reason, exitCode, true);
      this.log.error('%s It booted before, so the code changed on disk; %s worker(s) keep serving and a new one is tried again.', reason, serving.length);
      this.noteEarlyDeath();
      return;
    }
    this.log.error('%s The reload is rolled back; the previous workers keep serving.', reason);
    if (this.previous !== undefined && this.previous.generation < worker.generation) {
      this.settings = this.previous.settings;
      this.hooks = this.previous.hooks;
      this.plugins = this.previous.plugins;
      this.numWorkersValue = this.settings.get('workers');
      this.container.register(TOKENS.Settings, { useValue: this.settings });
      this.applyEnv();
    }
    this.previous = undefined;
    for (const w of this.workers.values()) {
      if (w.generation >= worker.generation) this.terminate(w);
      else w.retiring = false;
    }
    this.generation = Math.max(...fallback.map((w) => w.generation));
  }

  /** The config file digest last warned about, so a change is told once, not at every spawn. */
  private warnedConfigDigest: string | undefined;

  /**
   * A worker imports the config file again for its hooks (Node has no fork), so one spawned
   * after the file changed on disk runs the new hooks, or fails to boot on a broken file, while
   * every setting value stays the master's. Gunicorn's forked workers never see such an edit.
   */
  private warnIfConfigChanged(): void {
    const path = this.settings.get('config');
    const loaded = this.settings.configDigest;
    if (path === null || loaded === undefined) return;
    const now = fileDigest(path);
    if (now === loaded || now === this.warnedConfigDigest) return;
    this.warnedConfigDigest = now;
    this.log.warning('Config file %s changed on disk since it was loaded (at start or the last HUP): new workers import its hooks as they are now. Send HUP to apply it.', path);
  }

  // ---------------------------------------------------------------- HUP, reload, USR2

  /** HUP: re-read the config, start new workers with it, retire the old ones once replaced. */
  private async handleHup(): Promise<void> {
    this.log.info('Hang up: %s', this.masterName);
    let settings: Settings;
    try {
      // Relative paths on the command line (--chdir sub) mean what they meant at start, not
      // relative to the directory the master has since changed into.
      process.chdir(this.startCwd);
      settings = await loadConfig(this.invocation);
    } catch (err) {
      this.applyChdir();
      this.log.error('Reload failed, keeping the current configuration: %s', describeWithTrace(err));
      return;
    }
    const current: PreviousConfig = { settings: this.settings, hooks: this.hooks, plugins: this.plugins, generation: this.generation };
    const oldBind = JSON.stringify(this.settings.get('bind'));
    const oldPidfile = this.settings.get('pidfile');
    this.settings = settings;
    this.container.register(TOKENS.Settings, { useValue: settings });
    this.applyChdir();
    this.applyEnv();
    this.log.reopenFiles();
    try {
      const resolver = PluginResolver.forSettings(settings);
      await resolveWorkerClass(settings, resolver);
      await this.installHooks(settings, resolver);
    } catch (err) {
      this.log.error('Reload failed, keeping the current configuration: %s', describeWithTrace(err));
      this.settings = current.settings;
      this.container.register(TOKENS.Settings, { useValue: current.settings });
      this.applyEnv();
      return;
    }
    if (JSON.stringify(settings.get('bind')) !== oldBind) await this.rebind();
    this.numWorkers = settings.get('workers');
    this.hooks.onReload.call(this);
    if (settings.get('pidfile') !== oldPidfile) {
      this.pidfile?.unlink(this.pid);
      this.pidfile = undefined;
      const path = settings.get('pidfile');
      if (path !== null) {
        this.pidfile = new Pidfile(path);
        this.pidfile.create(this.pid);
      }
    }
    setProcessTitle(processTitle('master', this.procName()));
    // A failed boot rolls back to the configuration the serving workers started with. While
    // the last reload has not taken over, that is still its own previous one, and the
    // configuration it brought (never serving in full) is dropped with its plugins.
    if (this.previous === undefined) this.previous = current;
    else this.shutDownUnlessUsed(current.hooks);
    this.replaceAllWorkers();
  }

  /** Let plugins of a configuration no worker will run again go (shutdown hook). */
  private shutDownUnlessUsed(hooks: ArbiterHooks): void {
    if (hooks === this.hooks || hooks === this.previous?.hooks) return;
    hooks.shutdown.promise(this).catch((err: unknown) => this.log.exception(err, 'A plugin failed to shut down after the reload'));
  }

  /** Mark every worker for replacement; manageWorkers starts the new ones first. */
  private replaceAllWorkers(): void {
    this.generation += 1;
    for (const worker of this.workers.values()) if (!worker.terminating) worker.retiring = true;
    this.manageWorkers();
  }

  private async rebind(): Promise<void> {
    let fresh: Listener[];
    try {
      fresh = await createListeners(this.settings, { systemdFds: [], inheritedFds: [] }, this.listeners);
    } catch (err) {
      this.log.error('Keeping the current sockets: %s', describeError(err));
      return;
    }
    const keptPaths = new Set(fresh.map((l) => l.path).filter((p) => p !== undefined));
    for (const old of this.listeners) if (!fresh.includes(old)) old.close(old.path !== undefined && !keptPaths.has(old.path));
    this.listeners = fresh;
    this.log.info('Listening at: %s', fresh.map(String).join(','));
  }

  /** --reload: a file of the app changed; replace the workers (they import the new code). */
  private onCodeChanged(file: string): void {
    this.log.info('Worker reloading: %s modified', file);
    this.previous = undefined;
    this.replaceAllWorkers();
  }

  /**
   * USR2: start a new master (same node, same flags, same argv) that inherits our listening
   * sockets (GUNICORN_FD) and our pid (GUNICORN_PID). Both serve until this one gets WINCH or
   * TERM; if the new one dies first, our pid file is restored.
   */
  private reexec(): void {
    if (this.reexecChild !== undefined) {
      this.log.warning('USR2 signal ignored. Child exists.');
      return;
    }
    if (this.masterPid !== 0) {
      this.log.warning('USR2 signal ignored. Parent exists.');
      return;
    }
    if (this.pidfile !== undefined) this.pidfile.rename(`${this.pidfile.current}.oldbin`);
    this.hooks.preExec.call(this);
    const env: NodeJS.ProcessEnv = { ...this.originalEnv, [PARENT_MASTER_ENV]: String(this.pid), [INHERITED_FDS_ENV]: this.listeners.map((_, i) => String(3 + i)).join(',') };
    delete env['LISTEN_FDS'];
    delete env['LISTEN_PID'];
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? '', ...this.invocation.argv], {
      cwd: this.startCwd,
      env,
      stdio: ['ignore', 'inherit', 'inherit', ...this.listeners.map((l) => l.fd)],
    });
    this.reexecChild = child;
    this.reexecExited = false;
    // As Gunicorn 19.2.1 names a master once it has started its successor.
    this.masterName = 'Old Master';
    child.on('error', (err) => this.log.error('Could not start the new master: %s', err.message));
    child.on('exit', () => {
      this.reexecExited = true;
      this.queue.wakeup();
    });
  }

  private reapReexecChild(): void {
    if (this.reexecChild === undefined || !this.reexecExited) return;
    this.log.info('New master (pid:%s) exited; restoring the pid file', this.reexecChild.pid);
    this.reexecChild = undefined;
    this.masterName = 'Master';
    const configured = this.settings.get('pidfile');
    if (this.pidfile !== undefined && configured !== null) this.pidfile.rename(configured);
  }

  // ---------------------------------------------------------------- stopping

  /**
   * Close the listening sockets (new connections are refused at once, unless another
   * generation still holds them), ask the workers to stop, wait up to graceful_timeout (or a
   * quarter second for a quick stop), then SIGKILL what is left.
   */
  async stop(graceful: boolean): Promise<void> {
    const unlink = this.reexecChild === undefined && this.masterPid === 0 && !this.systemd;
    closeListeners(this.listeners, unlink);
    this.listeners = [];
    this.reloader?.close();
    let quick = !graceful;
    this.killWorkers(quick ? 'SIGQUIT' : 'SIGTERM');
    let limit = performance.now() + (quick ? QUICK_SHUTDOWN_MS : this.settings.get('graceful_timeout') * 1000);
    while (this.liveWorkers() > 0 && performance.now() < limit) {
      const signals = await this.queue.wait(Math.min(100, limit - performance.now()));
      if (!quick && signals.some((s) => s === 'SIGINT' || s === 'SIGQUIT')) {
        this.log.info('Quick shutdown requested');
        quick = true;
        this.killWorkers('SIGQUIT');
        limit = Math.min(limit, performance.now() + QUICK_SHUTDOWN_MS);
      }
      this.reapWorkersQuietly();
    }
    if (this.liveWorkers() > 0) {
      this.killWorkers('SIGKILL');
      const until = performance.now() + 200;
      while (this.liveWorkers() > 0 && performance.now() < until) await this.queue.wait(until - performance.now());
    }
    this.reapWorkersQuietly();
  }

  private liveWorkers(): number {
    let n = 0;
    for (const worker of this.workers.values()) if (!worker.exited) n += 1;
    return n;
  }

  /** While stopping, exits are expected: run worker_exit, never halt again. */
  private reapWorkersQuietly(): void {
    for (const worker of [...this.workers.values()]) {
      if (!worker.exited) continue;
      this.workers.delete(worker.pid);
      this.hooks.workerExit.call(this, worker);
    }
  }

  private async halt(reason: string | undefined, exitStatus: number, graceful: boolean): Promise<number> {
    this.options.onHalt?.(reason, exitStatus);
    await this.stop(graceful);
    const log = exitStatus === 0 ? this.log.info.bind(this.log) : this.log.error.bind(this.log);
    log('Shutting down: %s', this.masterName);
    if (reason !== undefined) log('Reason: %s', reason);
    this.pidfile?.unlink(this.pid);
    // Awaited, but never longer than graceful_timeout: an exit must not hang on a hook.
    const graceMs = this.settings.get('graceful_timeout') * 1000;
    if (!(await settlesWithin(this.hooks.onExit.promise(this), graceMs))) {
      this.log.warning('on_exit did not finish within graceful_timeout (%s s); exiting without it', graceMs / 1000);
    }
    try {
      await this.hooks.shutdown.promise(this);
    } catch (err) {
      this.log.exception(err, 'A plugin failed to shut down');
    }
    this.queue.uninstall();
    await this.log.close();
    return exitStatus;
  }
}

/** Whether `promise` settles (either way) within `ms`. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, ms, false);
    timer.unref();
  });
  const settled = promise.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, expiry]).finally(() => clearTimeout(timer));
}
