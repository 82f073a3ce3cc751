import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repo, 'core', 'dist', 'cli', 'bin.js');
const coreEntry = pathToFileURL(join(repo, 'core', 'dist', 'index.js')).href;
const coreVersion = (JSON.parse(readFileSync(join(repo, 'core', 'package.json'), 'utf8')) as { version: string }).version;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gts-cli-'));
  writeFileSync(join(dir, 'app.mjs'), 'export const app = (req, res) => res.end("ok");');
  writeFileSync(join(dir, 'broken.mjs'), 'throw new Error("app exploded at import");');
  writeFileSync(join(dir, 'conf.mjs'), 'export const workers = 3;');
  writeFileSync(join(dir, 'timestamp.json'), '{"timestamp": false}');
  writeFileSync(join(dir, 'transport.json'), '{"transport": {"target": "nosuch"}}');
  writeFileSync(join(dir, 'loud.json'), '{"level": "loud"}');
  writeFileSync(join(dir, 'quiet.json'), '{"level": "warning", "msgPrefix": "[app-x] "}');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('gunicorn-ts command line', () => {
  test('--version prints the core version', () => {
    const r = run(['--version']);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), coreVersion);
  });

  test('--help is generated from the registry', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0);
    for (const flag of ['-w, --workers <INT>', '-k, --worker-class <STRING>', '--limit-request-line <INT>', '--preload', '--check-config', '--print-config']) {
      assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
    }
  });

  const usageErrors: Array<[string[], RegExp]> = [
    [['-w', 'abc', 'app.mjs:app'], /workers \(-w, --workers\): "abc" is not an integer/],
    [['-b', 'host:99999', 'app.mjs:app'], /port "99999"/],
    [['--limit-request-line', '9000', 'app.mjs:app'], /limit_request_line .* between 0 and 8190/],
    [['--no-such-flag', 'app.mjs:app'], /unknown option '--no-such-flag'/],
    [['--paste', 'x.ini', 'app.mjs:app'], /paste .*not supported.*Python format/],
    [[], /No application module specified/],
    [['--worker-tmp-dir', 'no-such-dir', 'app.mjs:app'], /worker_tmp_dir \(--worker-tmp-dir\): "no-such-dir" does not exist/],
    [['--chdir', 'no-such-dir', 'app.mjs:app'], /chdir \(--chdir\): "no-such-dir" does not exist/],
  ];
  for (const [args, message] of usageErrors) {
    test(`${args.join(' ') || '(no arguments)'} exits 2 with one clear line`, () => {
      const r = run(args);
      assert.equal(r.status, 2);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
      assert.match(lines[0] ?? '', message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  test('a bad value from GUNICORN_TS_CMD_ARGS or the config file says where it came from; one on the command line needs no such note', () => {
    const fromEnv = run(['--check-config', 'app.mjs:app'], { GUNICORN_TS_CMD_ARGS: '-w abc' });
    assert.equal(fromEnv.status, 2);
    assert.match(fromEnv.stderr, /Invalid value for workers \(-w, --workers\): "abc" is not an integer \(in GUNICORN_TS_CMD_ARGS\)/);
    writeFileSync(join(dir, 'bad-workers.mjs'), 'export const workers = "abc";');
    const fromFile = run(['-c', 'bad-workers.mjs', '--check-config', 'app.mjs:app']);
    assert.equal(fromFile.status, 2);
    assert.match(fromFile.stderr, /"abc" is not an integer \(in config file .*bad-workers\.mjs\)/);
    const fromCli = run(['-w', 'abc', 'app.mjs:app']);
    assert.doesNotMatch(fromCli.stderr, /\(in /);
  });

  for (const value of ['abc', '0', '-3', '2.5']) {
    test(`WEB_CONCURRENCY=${value} exits 2 naming it, instead of silently running one worker`, () => {
      const r = run(['--check-config', 'app.mjs:app'], { WEB_CONCURRENCY: value });
      assert.equal(r.status, 2);
      assert.match(r.stderr, new RegExp(`workers \\(\\$WEB_CONCURRENCY\\): "${value.replace('.', '\\.')}" is not a positive integer`));
    });
  }

  for (const [args, message] of [
    [['--error-logfile', '.'], /errorlog \(--error-logfile\): cannot write to \.: EISDIR/],
    [['--access-logfile', '.'], /accesslog \(--access-logfile\): cannot write to \.: EISDIR/],
    [['--log-config', 'missing.json'], /logconfig \(--log-config\): missing\.json: ENOENT/],
    [['--log-config', 'timestamp.json'], /logconfig \(--log-config\): timestamp\.json: option "timestamp" is not supported \(supported: level, msgPrefix, enabled\)/],
    [['--log-config', 'transport.json'], /logconfig \(--log-config\): transport\.json: option "transport" is not supported/],
    [['--log-config', 'loud.json'], /logconfig \(--log-config\): loud\.json: option "level" must be one of trace, debug, info, warn, warning/],
    [['--error-logfile', 'no-such-dir/error.log'], /errorlog \(--error-logfile\): cannot write to no-such-dir\/error\.log: ENOENT/],
  ] as const) {
    test(`${args.join(' ')} stops the start with one line naming the setting`, () => {
      const r = run([...args, '-b', '127.0.0.1:0', 'app.mjs:app']);
      assert.equal(r.status, 2);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  test('an unknown worker class is reported once, with its code, when the error log is stderr', () => {
    const r = run(['-k', 'nosuch', '-b', '127.0.0.1:0', 'app.mjs:app']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.match(/Cannot resolve worker class "nosuch"/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /\[GTS_ERR_PLUGIN_NOT_FOUND\]/);
  });

  test('with --error-logfile the log gets the reason and the terminal still gets one line', () => {
    const log = join(dir, 'nosuch-error.log');
    const r = run(['-k', 'nosuch', '-b', '127.0.0.1:0', '--error-logfile', log, 'app.mjs:app']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^gunicorn-ts: error: Cannot resolve worker class "nosuch"/);
    assert.match(readFileSync(log, 'utf8'), /Reason: Cannot resolve worker class "nosuch"/);
  });

  test('--print-config shows values and their sources', () => {
    const r = run(['-c', 'conf.mjs', '--timeout', '12', '--print-config'], { GUNICORN_TS_CMD_ARGS: '--keep-alive 9' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^workers\s+= 3\s+\(config file .*conf\.mjs\)$/m);
    assert.match(r.stdout, /^timeout\s+= 12\s+\(command line\)$/m);
    assert.match(r.stdout, /^keepalive\s+= 9\s+\(GUNICORN_TS_CMD_ARGS\)$/m);
    assert.match(r.stdout, /^graceful_timeout\s+= 30\s+\(default\)$/m);
  });

  test('--print-config says when the worker class that runs is not the one set (sync with --threads > 1)', () => {
    const r = run(['--threads', '4', '--print-config']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^worker_class\s+= "sync"\s+\(default; gthread runs: threads > 1\)$/m);
  });

  test("logconfig's level wins over loglevel, as a Python logging config does, and its msgPrefix marks every line", () => {
    const r = run(['--log-config', 'quiet.json', '--log-level', 'debug', '-b', '127.0.0.1:0', 'broken.mjs:app']);
    assert.equal(r.status, 4);
    assert.doesNotMatch(r.stderr, /\[INFO\]|\[DEBUG\]/, 'nothing below warning');
    assert.match(r.stderr, /\[ERROR\] \[app-x\] Reason: /);
  });

  test('--check-config loads the app and exits 0', () => {
    const r = run(['--check-config', 'app.mjs:app']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Config OK: app app\.mjs:app \(request listener\)/);
  });

  test('--check-config fails with the app error and the app-load exit code', () => {
    const r = run(['--check-config', 'broken.mjs:app']);
    assert.equal(r.status, 4);
    assert.match(r.stderr, /app exploded at import/);
  });

  test('an app that cannot load because a module it imports throws: its stack is shown, with the file and line', () => {
    mkdirSync(join(dir, 'lib'), { recursive: true });
    writeFileSync(join(dir, 'lib', 'helper.mjs'), "export const config = {};\nconfig.database.host = 'x';\n");
    writeFileSync(join(dir, 'imports-bad.mjs'), "import { config } from './lib/helper.mjs';\nexport const app = (req, res) => res.end(String(config));\n");
    const r = run(['--check-config', 'imports-bad.mjs:app']);
    assert.equal(r.status, 4);
    // Before, only the message: nothing said where, in an app of many files.
    assert.match(r.stderr, /Cannot set properties of undefined/);
    assert.match(r.stderr, /TypeError[\s\S]*lib\/helper\.mjs:2/);
  });

  test('a syntax error in a module the app imports is shown with its file, line and caret, as Node shows an uncaught one', () => {
    mkdirSync(join(dir, 'syntax', 'lib'), { recursive: true });
    // .js with ES module syntax and no "type": "module": Node detects it as a module.
    writeFileSync(join(dir, 'syntax', 'lib', 'ok.js'), "export { typo } from './typo.js';\n");
    writeFileSync(join(dir, 'syntax', 'lib', 'typo.js'), 'export const typo = 1;\nconst broken = {;\n');
    writeFileSync(join(dir, 'syntax', 'app.mjs'), "import { typo } from './lib/ok.js';\nexport const app = (req, res) => res.end(String(typo));\n");
    const r = run(['--check-config', 'syntax/app.mjs:app']);
    assert.equal(r.status, 4);
    assert.match(r.stderr, /Failed to load app syntax\/app\.mjs:app: Unexpected token ';' \[GTS_ERR_APP_LOAD\]\n\S*syntax\/lib\/typo\.js:2\nconst broken = \{;\n\s+\^\n\nSyntaxError: Unexpected token ';'/);
  });

  test('a config file that fails to load shows where, as an app does', () => {
    writeFileSync(join(dir, 'typo.conf.mjs'), 'export const workers = 2;\nexport const bind = [;\n');
    const typo = run(['-c', 'typo.conf.mjs', 'app.mjs:app']);
    assert.equal(typo.status, 1);
    assert.match(typo.stderr, /Failed to load config file \S*typo\.conf\.mjs: Unexpected token ';' \[GTS_ERR_CONFIG_LOAD\]\n\S*typo\.conf\.mjs:2\nexport const bind = \[;\n/);
    writeFileSync(join(dir, 'throws.conf.mjs'), 'export const workers = 2;\nconst host = undefined.host;\n');
    const throws = run(['-c', 'throws.conf.mjs', 'app.mjs:app']);
    assert.equal(throws.status, 1);
    assert.match(throws.stderr, /reading 'host'\) \[GTS_ERR_CONFIG_LOAD\]\nTypeError: [^\n]*\n\s+at \S*throws\.conf\.mjs\S*:2:/);
  });

  test('a certfile that holds the key too needs no keyfile, as in Gunicorn; a keyfile alone and a bad ssl_version are refused, certfile or not', () => {
    const pem = join(dir, 'tls');
    mkdirSync(pem, { recursive: true });
    spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(pem, 'key.pem'), '-out', join(pem, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost'], { timeout: 20_000 });
    writeFileSync(join(pem, 'both.pem'), readFileSync(join(pem, 'key.pem'), 'utf8') + readFileSync(join(pem, 'cert.pem'), 'utf8'));
    const both = run(['--check-config', '--certfile', 'tls/both.pem', 'app.mjs:app']);
    assert.equal(both.status, 0, both.stderr);
    const certOnly = run(['--check-config', '--certfile', 'tls/cert.pem', 'app.mjs:app']);
    assert.equal(certOnly.status, 2, 'a certfile without a key is refused when it is read');
    assert.match(certOnly.stderr, /keyfile "tls\/cert\.pem" is not a usable private key/);
    const keyOnly = run(['--check-config', '--keyfile', 'tls/key.pem', 'app.mjs:app']);
    assert.equal(keyOnly.status, 2);
    assert.match(keyOnly.stderr, /keyfile \(--keyfile\) needs certfile \(--certfile\)/);
    for (const version of ['bogus', '1']) {
      const bad = run(['--check-config', '--ssl-version', version, 'app.mjs:app']);
      assert.equal(bad.status, 2, bad.stderr);
      assert.match(bad.stderr, /Invalid value for ssl_version \(--ssl-version\): /);
    }
  });

  test('--check-config reads the TLS files as a worker would and names the bad one', () => {
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');
    const r = run(['--check-config', '--certfile', 'junk.pem', '--keyfile', 'junk.pem', 'app.mjs:app']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /TLS certfile "junk\.pem" is not a valid PEM certificate.*\[GTS_ERR_TLS\]/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const missing = run(['--check-config', '--certfile', 'missing.pem', '--keyfile', 'junk.pem', 'app.mjs:app']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /TLS certfile "missing\.pem" cannot be read: ENOENT/);
  });

  test("a worker class's settingDefaults replace the registry's defaults, not what the user set", () => {
    writeFileSync(join(dir, 'tuned-worker.mjs'), `import { Worker } from ${JSON.stringify(coreEntry)}; export class Tuned extends Worker { static settingDefaults = { worker_semi_space: 3, timeout: 7 }; run() {} }`);
    const r = run(['-k', './tuned-worker.mjs:Tuned', '--timeout', '12', '--print-config', 'app.mjs:app']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^worker_semi_space\s+= 3\s+\(worker class default\)$/m);
    assert.match(r.stdout, /^timeout\s+= 12\s+\(command line\)$/m);
    assert.equal(run(['-k', './tuned-worker.mjs:Tuned', '--check-config', 'app.mjs:app']).status, 0);
  });

  for (const [name, file, defaults, status, message] of [
    ['an unknown setting', 'unknown-setting.mjs', '{ no_such_setting: 1 }', 2, /Unknown setting "no_such_setting" in the settingDefaults of worker class \.\/unknown-setting\.mjs:W/],
    ['an invalid value', 'invalid-value.mjs', '{ workers: -1 }', 2, /Invalid value for workers .* \(in the settingDefaults of worker class \.\/invalid-value\.mjs:W\)/],
    ['not an object', 'not-object.mjs', '[1]', 1, /worker class "\.\/not-object\.mjs:W" is not a valid worker class: its settingDefaults is an object with keys \[0\]/],
    ['the worker class itself', 'picks-class.mjs', "{ worker_class: 'evented' }", 1, /its settingDefaults sets worker_class, which a worker class cannot default/],
  ] as const) {
    test(`a worker class whose settingDefaults has ${name} fails the start with one clear line`, () => {
      writeFileSync(join(dir, file), `export class W { static settingDefaults = ${defaults}; run() {} }`);
      const r = run(['-k', `./${file}:W`, '--check-config', 'app.mjs:app']);
      assert.equal(r.status, status, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    });
  }

  test('a worker class that does not extend this core\'s Worker is refused by --check-config and at start, before any worker boots', () => {
    writeFileSync(join(dir, 'plain-worker.mjs'), 'export class Plain { run() {} }');
    // A plugin that installed its own copy of core: its Worker is not this one.
    writeFileSync(join(dir, 'foreign-worker.mjs'), 'class Worker { run() {} } export class Foreign extends Worker {}');
    for (const args of [['--check-config'], []]) {
      const plain = run([...args, '-k', './plain-worker.mjs:Plain', 'app.mjs:app']);
      assert.equal(plain.status, 1, plain.stderr);
      assert.match(plain.stderr, /worker class "\.\/plain-worker\.mjs:Plain" is not a valid worker class: .*plain-worker\.mjs exports a class \(Plain\) that does not extend Worker from @gunicorn-ts\/core/);
      const foreign = run([...args, '-k', './foreign-worker.mjs:Foreign', 'app.mjs:app']);
      assert.equal(foreign.status, 1, foreign.stderr);
      assert.match(foreign.stderr, /extends Worker from another copy of @gunicorn-ts\/core; declare @gunicorn-ts\/core as a peerDependency/);
      assert.doesNotMatch(foreign.stderr, /Booting worker/);
    }
  });

  test("a bundled worker class is the running core's own, even with another copy in the project's node_modules", () => {
    const project = join(dir, 'project-with-copy');
    const copy = join(project, 'node_modules', '@gunicorn-ts', 'worker-sync');
    mkdirSync(join(copy, 'dist'), { recursive: true });
    writeFileSync(join(copy, 'package.json'), JSON.stringify({ name: '@gunicorn-ts/worker-sync', version: '0.1.0', type: 'module', main: './dist/index.js', 'gunicorn-ts': { workers: { sync: './dist/index.js#SyncWorker' } } }));
    writeFileSync(join(copy, 'dist', 'index.js'), 'class Worker { run() {} } export class SyncWorker extends Worker {}');
    writeFileSync(join(project, 'app.mjs'), 'export const app = (req, res) => res.end("ok");');
    const result = spawnSync(process.execPath, [bin, '--check-config', '-k', 'sync', 'app.mjs:app'], { cwd: project, env: { PATH: process.env['PATH'] ?? '' }, encoding: 'utf8', timeout: 20_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Config OK/);
  });

  test('--check-config fails on a worker class that cannot be resolved', () => {
    const r = run(['--check-config', '-k', 'nonexistent-worker', 'app.mjs:app']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Cannot resolve worker class "nonexistent-worker"; tried:/);
  });

  test('a plugin whose constructor or apply() throws is named in one error line, with the stack underneath', () => {
    writeFileSync(join(dir, 'bad-ctor.mjs'), 'export class BadCtor { constructor() { throw new Error("no config for me"); } apply() {} }');
    writeFileSync(join(dir, 'bad-apply.mjs'), 'export class BadApply { static PLUGIN_NAME = "bad-apply"; apply() { throw new TypeError("cannot tap that"); } }');
    for (const args of [['--check-config'], []]) {
      const ctor = run([...args, '--plugin', './bad-ctor.mjs:BadCtor', 'app.mjs:app']);
      assert.equal(ctor.status, 1, ctor.stderr);
      assert.match(ctor.stderr, /Plugin "\.\/bad-ctor\.mjs:BadCtor" failed in its constructor: no config for me \[GTS_ERR_PLUGIN_FAILED\]\nError: no config for me\n\s+at new BadCtor \(file:.*bad-ctor\.mjs:1:/);
      assert.doesNotMatch(ctor.stderr, /unexpected error/);
    }
    const apply = run(['--plugin', './bad-apply.mjs:BadApply', 'app.mjs:app']);
    assert.equal(apply.status, 1, apply.stderr);
    assert.match(apply.stderr, /Plugin "\.\/bad-apply\.mjs:BadApply" failed in apply\(\) in the arbiter: cannot tap that \[GTS_ERR_PLUGIN_FAILED\]\nTypeError: cannot tap that\n\s+at BadApply\.apply \(file:.*bad-apply\.mjs:1:/);
    assert.doesNotMatch(apply.stderr, /unexpected error/);
  });
});

describe('the installed command', () => {
  test('node_modules/.bin/gunicorn-ts (what npx runs) is linked and starts the CLI', () => {
    const link = join(repo, 'node_modules', '.bin', 'gunicorn-ts');
    const result = spawnSync(link, ['--version'], { cwd: repo, encoding: 'utf8', timeout: 20_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), coreVersion);
  });
});
