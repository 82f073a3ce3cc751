import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PluginResolver, isGtsError, GLogger, expectClass, construct, createContainer, Settings, TOKENS } from '@gunicorn-ts/core';

let project: string;
let resolver: PluginResolver;

function write(rel: string, text: string): void {
  const path = join(project, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

before(() => {
  project = mkdtempSync(join(tmpdir(), 'gts-resolver-'));
  // A third-party worker package declaring named entries, as a published plugin would.
  write('node_modules/gunicorn-ts-worker-foo/package.json', JSON.stringify({
    name: 'gunicorn-ts-worker-foo', version: '1.0.0', type: 'module', main: './main.js',
    peerDependencies: { '@gunicorn-ts/core': '>=0.1.0 <1' },
    'gunicorn-ts': { workers: { foo: './workers.js#FooWorker', bar: './workers.js#BarWorker' }, default: './workers.js#FooWorker' },
  }));
  write('node_modules/gunicorn-ts-worker-foo/workers.js', 'export class FooWorker { run() {} } export class BarWorker { run() {} }');
  write('node_modules/gunicorn-ts-worker-foo/main.js', 'export class Named { run() {} }');
  // A package with no gunicorn-ts field: its default export is used.
  write('node_modules/plain-worker/package.json', JSON.stringify({ name: 'plain-worker', version: '1.0.0', main: 'index.cjs' }));
  write('node_modules/plain-worker/index.cjs', 'module.exports = class PlainWorker { run() {} };');
  // A plugin that requires a core that does not exist yet.
  write('node_modules/future-plugin/package.json', JSON.stringify({
    name: 'future-plugin', version: '1.0.0', type: 'module', main: 'index.js', peerDependencies: { '@gunicorn-ts/core': '^9.0.0' },
  }));
  write('node_modules/future-plugin/index.js', 'export default class Future { apply() {} }');
  write('my-worker.js', 'export class MyWorker { run() {} } export default class DefaultWorker { run() {} } export const notAClass = 42;');
  resolver = new PluginResolver(project, [project]);
});
after(() => rmSync(project, { recursive: true, force: true }));

async function resolvedName(kind: 'worker' | 'logger' | 'plugin', spec: string): Promise<string> {
  const resolved = await resolver.resolve(kind, spec);
  return (resolved.value as { name: string }).name;
}

describe('plugin resolver: every string form', () => {
  test('short name of a bundled logger', async () => {
    const resolved = await resolver.resolve('logger', 'glogging');
    assert.equal(resolved.value, GLogger);
    assert.equal((await resolver.resolve('logger', 'simple')).value, GLogger);
  });
  test('egg:gunicorn-ts#NAME names a bundled plugin', async () => {
    assert.equal((await resolver.resolve('logger', 'egg:gunicorn-ts#glogging')).value, GLogger);
  });
  test("Gunicorn's own spellings in its manual and config files stand for the bundled classes", async () => {
    for (const spec of ['gunicorn.glogging.Logger', 'egg:gunicorn#simple']) assert.equal((await resolver.resolve('logger', spec)).value, GLogger, spec);
    const sync = (await resolver.resolve('worker', 'sync')).value;
    const gthread = (await resolver.resolve('worker', 'gthread')).value;
    for (const spec of ['egg:gunicorn#sync', 'gunicorn.workers.sync.SyncWorker']) assert.equal((await resolver.resolve('worker', spec)).value, sync, spec);
    for (const spec of ['egg:gunicorn#gthread', 'gunicorn.workers.gthread.ThreadWorker']) assert.equal((await resolver.resolve('worker', spec)).value, gthread, spec);
  });
  test("Gunicorn's Python-only async workers are refused by every spelling, naming the Node analogue", async () => {
    for (const spec of ['gevent', 'egg:gunicorn#eventlet', 'gunicorn.workers.gtornado.TornadoWorker', 'gaiohttp']) {
      await assert.rejects(resolver.resolve('worker', spec), (err: unknown) => {
        assert.ok(isGtsError(err, 'GTS_ERR_PLUGIN_SPEC'), String(err));
        assert.match((err as Error).message, /Python-only async workers; their Node analogue is -k evented/);
        return true;
      });
    }
  });
  test('egg:PKG#NAME takes the named entry of the package', async () => {
    assert.equal(await resolvedName('worker', 'egg:gunicorn-ts-worker-foo#bar'), 'BarWorker');
  });
  test('a package name takes its declared default entry', async () => {
    assert.equal(await resolvedName('worker', 'gunicorn-ts-worker-foo'), 'FooWorker');
  });
  test('PKG:EXPORT takes a named export of the package main', async () => {
    assert.equal(await resolvedName('worker', 'gunicorn-ts-worker-foo:Named'), 'Named');
  });
  test('a package without a gunicorn-ts field gives its default export (CommonJS too)', async () => {
    assert.equal(await resolvedName('worker', 'plain-worker'), 'PlainWorker');
  });
  test('a module path with and without :Export', async () => {
    assert.equal(await resolvedName('worker', './my-worker.js:MyWorker'), 'MyWorker');
    assert.equal(await resolvedName('worker', './my-worker.js'), 'DefaultWorker');
  });
  test('metadata comes from the package: name and core range', async () => {
    const resolved = await resolver.resolve('worker', 'gunicorn-ts-worker-foo');
    assert.equal(resolved.meta.name, 'gunicorn-ts-worker-foo');
    assert.equal(resolved.meta.core, '>=0.1.0 <1');
  });
});

describe('plugin resolver: every failure form', () => {
  async function rejects(kind: 'worker' | 'logger' | 'plugin', spec: string, code: string, message: RegExp): Promise<void> {
    await assert.rejects(resolver.resolve(kind, spec), (err: unknown) => {
      assert.ok(isGtsError(err), String(err));
      assert.equal(err.code, code);
      assert.match(err.message, message);
      return true;
    });
  }
  test('an unknown short name lists the bundled names and the places tried, each once', async () => {
    await rejects('worker', 'synk', 'GTS_ERR_PLUGIN_NOT_FOUND', /worker class "synk"; tried:\n.*bundled worker classes: sync, evented, gthread[\s\S]*node_modules\/synk\/package\.json/);
    const err = await resolver.resolve('worker', 'synk').catch((e: unknown) => e as Error);
    const tried = (err as Error).message.split('\n').slice(1);
    assert.deepEqual(tried, [...new Set(tried)], 'no place listed twice');
  });
  test('a missing package', () => rejects('worker', 'gunicorn-ts-worker-missing', 'GTS_ERR_PLUGIN_NOT_FOUND', /gunicorn-ts-worker-missing/));
  test('an egg entry the package does not declare', () =>
    rejects('worker', 'egg:gunicorn-ts-worker-foo#baz', 'GTS_ERR_PLUGIN_NOT_FOUND', /declared: foo, bar/));
  test('a malformed egg string', () => rejects('worker', 'egg:nohash', 'GTS_ERR_PLUGIN_SPEC', /egg:PACKAGE#NAME/));
  test('a missing file', () => rejects('worker', './nope.js:X', 'GTS_ERR_PLUGIN_NOT_FOUND', /nope\.js/));
  test('a missing export names the exports there are', () =>
    rejects('worker', './my-worker.js:Nope', 'GTS_ERR_PLUGIN_INVALID', /has no export "Nope" \(exports: .*MyWorker/));
  test('a package that declares itself unavailable says why, for every string that names it', async () => {
    for (const spec of ['statsd', 'egg:@gunicorn-ts/logger-statsd#statsd', '@gunicorn-ts/logger-statsd', 'syslog']) {
      await rejects('logger', spec, 'GTS_ERR_PLUGIN_UNAVAILABLE', /is not available: the (statsd|syslog) logger is not built yet, so (statsd_host \(--statsd-host\)|syslog \(--log-syslog\)) cannot be used/);
    }
    await rejects('plugin', 'proxy-protocol', 'GTS_ERR_PLUGIN_UNAVAILABLE', /PROXY protocol plugin is not built yet/);
  });
  test('an incompatible core range', () => rejects('plugin', 'future-plugin', 'GTS_ERR_PLUGIN_INCOMPATIBLE', /requires @gunicorn-ts\/core \^9\.0\.0/));
  test('a value that is not a class is refused by expectClass', async () => {
    const resolved = await resolver.resolve('worker', './my-worker.js:notAClass');
    assert.throws(() => expectClass(resolved, 'worker', ['run']), /exports a number \(42\)/);
  });
});

describe('constructing plugin classes', () => {
  test('a plain-JS subclass without a constructor of its own gets its parent\'s injections (GLogger\'s Settings)', () => {
    const container = createContainer();
    const settings = Settings.withDefaults();
    container.register(TOKENS.Settings, { useValue: settings });
    // As a plain-JS logger plugin writes it: no decorators, no constructor.
    class MyLogger extends GLogger {}
    const logger = construct(container, MyLogger, []);
    // Before, it was built with no arguments: its settings were undefined and setup() threw.
    assert.equal((logger as unknown as { settings: unknown }).settings, settings);
  });
});
