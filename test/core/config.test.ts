import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, loadWorkerSettings, isGtsError } from '@gunicorn-ts/core';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gts-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const load = (argv: string[], env: Record<string, string> = {}) => loadConfig({ argv, env, cwd: dir });

describe('precedence: defaults < config file < GUNICORN_TS_CMD_ARGS < command line', () => {
  test('each layer overrides the one below and records its source', async () => {
    const config = write('layers.mjs', 'export const workers = 2; export const timeout = 5; export const keepalive = 7;');
    const settings = await load(['-c', config, '-w', '4', 'app.js:app'], { GUNICORN_TS_CMD_ARGS: '--workers 3 --timeout 9' });
    assert.equal(settings.get('workers'), 4);
    assert.equal(settings.sourceOf('workers'), 'cli');
    assert.equal(settings.get('timeout'), 9);
    assert.equal(settings.sourceOf('timeout'), 'env');
    assert.equal(settings.get('keepalive'), 7);
    assert.equal(settings.sourceOf('keepalive'), 'config');
    assert.equal(settings.get('graceful_timeout'), 30);
    assert.equal(settings.sourceOf('graceful_timeout'), 'default');
    assert.equal(settings.get('app'), 'app.js:app');
  });

  test('repeated -b flags collect in order; aliases map to one setting', async () => {
    const settings = await load(['-b', '127.0.0.1:1', '--bind', '[::1]:2', '--log-file', '/tmp/x.log', '--limit-request-field-size', '100']);
    assert.deepEqual(settings.get('bind'), ['127.0.0.1:1', '[::1]:2']);
    assert.equal(settings.get('errorlog'), '/tmp/x.log');
    assert.equal(settings.get('limit_request_field_size'), 100);
  });

  test('switches and their negative forms', async () => {
    const settings = await load(['--preload', '--no-sendfile', '-D']);
    assert.equal(settings.get('preload_app'), true);
    assert.equal(settings.get('sendfile'), false);
    assert.equal(settings.get('daemon'), true);
  });

  test('GUNICORN_TS_CMD_ARGS is split like a shell', async () => {
    const settings = await load([], { GUNICORN_TS_CMD_ARGS: `--name 'my app' -e "A=b c"` });
    assert.equal(settings.get('proc_name'), 'my app');
    assert.deepEqual(settings.get('raw_env'), ['A=b c']);
  });

  test('./gunicorn.conf.js is used without -c', async () => {
    const sub = mkdtempSync(join(dir, 'implicit-'));
    writeFileSync(join(sub, 'gunicorn.conf.js'), 'export const workers = 6;');
    const settings = await loadConfig({ argv: [], env: {}, cwd: sub });
    assert.equal(settings.get('workers'), 6);
    assert.equal(settings.get('config'), join(sub, 'gunicorn.conf.js'));
  });
});

describe('config files', () => {
  test('CommonJS, JSON and default-exported objects all work', async () => {
    const cjs = write('c.cjs', 'module.exports = { workers: 3, bind: "127.0.0.1:9001" };');
    const json = write('j.json', '{"workers": 4, "forwarded_allow_ips": "10.0.0.1,10.0.0.2"}');
    const def = write('d.mjs', 'export default { workers: 5 };');
    assert.equal((await load(['-c', cjs])).get('workers'), 3);
    assert.deepEqual((await load(['-c', cjs])).get('bind'), ['127.0.0.1:9001']);
    assert.deepEqual((await load(['-c', json])).get('forwarded_allow_ips'), ['10.0.0.1', '10.0.0.2']);
    assert.equal((await load(['-c', def])).get('workers'), 5);
  });

  test('hooks and plugins come from the file; private names are ignored', async () => {
    const path = write('hooks.mjs', 'export const plugins = ["./p.js:P"]; export function on_starting(server) {} export const _helper = 1;');
    const settings = await load(['-c', path]);
    assert.equal(typeof settings.get('on_starting'), 'function');
    assert.deepEqual(settings.get('plugins'), ['./p.js:P']);
  });

  const failures: Array<[string, string, string, RegExp]> = [
    ['unknown.mjs', 'export const wrokers = 2;', 'GTS_ERR_UNKNOWN_SETTING', /Unknown setting "wrokers" in config file .*unknown\.mjs/],
    ['throws.mjs', 'throw new Error("boom at import");', 'GTS_ERR_CONFIG_LOAD', /boom at import/],
    ['syntax.mjs', 'export const = ;', 'GTS_ERR_CONFIG_LOAD', /Failed to load config file/],
    ['bad.json', '{ nope', 'GTS_ERR_CONFIG_LOAD', /Failed to load config file/],
    ['badvalue.mjs', 'export const workers = "many";', 'GTS_ERR_INVALID_SETTING', /workers .*"many" is not an integer/],
    // Gunicorn's own post_request signature: `resp` would always be undefined here.
    ['arity.mjs', 'export function post_request(worker, req, environ, resp) {}', 'GTS_ERR_INVALID_SETTING', /post_request: the function declares 4 parameters, but it is called as post_request\(worker, req, res\)/],
    ['conf.yaml', 'workers: 2', 'GTS_ERR_CONFIG_SHAPE', /unsupported extension/],
  ];
  for (const [name, text, code, message] of failures) {
    test(`${name}: ${code}`, async () => {
      const path = write(name, text);
      await assert.rejects(load(['-c', path]), (err: unknown) => {
        assert.ok(isGtsError(err), String(err));
        assert.equal(err.code, code);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test('a missing -c file is an error naming it', async () => {
    await assert.rejects(load(['-c', 'nope.js']), /Config file .*nope\.js not found/);
  });

  test('--reload with --preload is refused', async () => {
    await assert.rejects(load(['--reload', '--preload']), (err: unknown) => isGtsError(err, 'GTS_ERR_CONFLICTING_SETTINGS'));
  });

  test('a worker re-reads hook functions from the config file', async () => {
    const path = write('worker.mjs', 'export const workers = 2; export function pre_request(worker, req) { return "mine"; }');
    const master = await load(['-c', path, '-w', '3']);
    const worker = await loadWorkerSettings(JSON.parse(JSON.stringify(master.serialize())));
    assert.equal(worker.get('workers'), 3, 'the master value wins over the file');
    assert.equal(typeof worker.get('pre_request'), 'function');
  });
});

describe('command line errors', () => {
  const cases: Array<[string[], RegExp]> = [
    [['-w', 'abc'], /workers \(-w, --workers\): "abc" is not an integer/],
    [['--bogus'], /unknown option '--bogus'/],
    [['-b'], /argument missing/],
    [['a.js:app', 'extra'], /too many arguments/],
  ];
  for (const [argv, message] of cases) {
    test(`${argv.join(' ')} is a usage error`, async () => {
      await assert.rejects(load(argv), (err: unknown) => {
        assert.ok(isGtsError(err), String(err));
        assert.equal(err.exitCode, 2);
        assert.match(err.message, message);
        return true;
      });
    });
  }
});
