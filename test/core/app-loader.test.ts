import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, request, ServerResponse } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadApp, isGtsError, type LoadedApp } from '@gunicorn-ts/core';

let dir: string;
function write(rel: string, text: string): void {
  const path = join(dir, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
const load = (spec: string) => loadApp(spec, { cwd: dir, searchPaths: [dir] });

/** Serve a loaded app with node:http for one request and return status and body. */
async function call(app: LoadedApp, method = 'GET', body?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // As the HTTP front does, a listener's throw and its rejection are both a 500.
    Promise.resolve().then(() => app.listener(req, res)).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    return await new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path: '/p?q=1', timeout: 5000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    server.close();
  }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gts-app-'));
  write('esm.mjs', 'export const app = (req, res) => res.end("esm:" + req.url);');
  write('cjs.cjs', 'module.exports = function (req, res) { res.end("cjs"); };');
  write('defaults.mjs', 'export default (req, res) => res.end("default");');
  write('factory.mjs', 'export function createApp() { return (req, res) => res.end("made"); }');
  write('asyncfactory.mjs', 'export async function createApp() { return (req, res) => res.end("made async"); }');
  write('fetchfn.mjs', 'export const app = (request) => new Response("fetch " + new URL(request.url).pathname, { status: 201, headers: { "x-a": "1" } });');
  write('fetchobj.mjs', 'export default { async fetch(request) { const body = await request.text(); return new Response("echo:" + body); } };');
  write('stream.mjs', `export default { fetch() {
    let n = 0;
    return new Response(new ReadableStream({ pull(c) { if (n < 3) c.enqueue(new TextEncoder().encode("chunk" + n++ + ";")); else c.close(); } }));
  } };`);
  write('fetch0.mjs', 'export const app = () => new Response("healthy");');
  write('fetch0async.mjs', 'export const app = async () => new Response("healthy async", { status: 203 });');
  write('body0.mjs', 'export const app = () => "just text";');
  write('queue0.mjs', 'const q = []; setInterval(() => { for (const [, res] of q.splice(0)) res.end("queued"); }, 5).unref(); export const app = (...args) => q.push(args);');
  write('status0.mjs', 'export const app = async (...args) => { setImmediate(() => args[1].end("status object")); return { status: "streaming" }; };');
  write('emit0.mjs', 'const inner = (req, res) => setTimeout(() => res.end("later"), 5); export const app = (...args) => { inner(...args); return true; };');
  write('restlistener.mjs', 'const inner = (req, res) => res.end("rest:" + req.url); export const app = (...args) => inner(...args);');
  // CommonJS that Node's static export detection does not see through, and TypeScript's
  // compiled `export default app`: require() sees the app, so the loader does too.
  write('cjs-object.cjs', 'const app = (req, res) => res.end("cjs object"); module.exports = { other: 1, app, more: 2 };');
  write('cjs-assign.cjs', 'Object.assign(module.exports, { app: (req, res) => res.end("cjs assign") });');
  write('ts-default.cjs', '"use strict"; Object.defineProperty(exports, "__esModule", { value: true }); exports.default = (req, res) => res.end("ts default");');
  write('server.mjs', 'import http from "node:http"; export const app = http.createServer((req, res) => res.end("from server"));');
  write('koa-like.mjs', 'export const app = { callback() { return (req, res) => res.end("koa"); } };');
  // A Koa instance: an EventEmitter with listen() and listeners(), not an http.Server.
  write('koa-instance.mjs', 'import { EventEmitter } from "node:events"; class Koa extends EventEmitter { listen() {} callback() { return (req, res) => res.end("koa instance"); } } export const app = new Koa();');
  write('throws.mjs', 'throw new Error("kaboom at import");');
  write('number.mjs', 'export const app = 42;');
  write('node_modules/my-app-pkg/package.json', JSON.stringify({ name: 'my-app-pkg', type: 'module', exports: { '.': { import: './lib/index.js' } } }));
  write('node_modules/my-app-pkg/lib/index.js', 'export const app = (req, res) => res.end("pkg");');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('app loading', () => {
  const ok: Array<[string, string, string]> = [
    ['esm.mjs:app', 'esm:/p?q=1', 'request-listener'],
    ['./esm.mjs', 'esm:/p?q=1', 'request-listener'],
    ['cjs.cjs', 'cjs', 'request-listener'],
    ['defaults.mjs', 'default', 'request-listener'],
    ['factory.mjs:createApp()', 'made', 'request-listener'],
    ['asyncfactory.mjs:createApp()', 'made async', 'request-listener'],
    ['server.mjs:app', 'from server', 'request-listener'],
    ['koa-like.mjs:app', 'koa', 'request-listener'],
    ['koa-instance.mjs:app', 'koa instance', 'request-listener'],
    ['my-app-pkg:app', 'pkg', 'request-listener'],
    ['fetchfn.mjs:app', 'fetch /p', 'fetch-handler'],
    // No declared parameter: a Response it returns is the answer (before, it was dropped and the
    // request hung), and a listener written with ...args still gets (req, res).
    ['fetch0.mjs:app', 'healthy', 'request-listener'],
    ['fetch0async.mjs:app', 'healthy async', 'request-listener'],
    ['restlistener.mjs:app', 'rest:/p?q=1', 'request-listener'],
    ['cjs-object.cjs:app', 'cjs object', 'request-listener'],
    ['cjs-object.cjs', 'cjs object', 'request-listener'],
    ['cjs-assign.cjs:app', 'cjs assign', 'request-listener'],
    ['ts-default.cjs', 'ts default', 'request-listener'],
    ['ts-default.cjs:default', 'ts default', 'request-listener'],
  ];
  for (const [spec, body, kind] of ok) {
    test(`${spec} serves as a ${kind}`, async () => {
      const app = await load(spec);
      assert.equal(app.kind, kind);
      const res = await call(app);
      assert.equal(res.body, body);
    });
  }

  test('a function with no parameters that returns text without answering gets a warning (a fetch handler that forgot its Response); a listener that returns anything and answers later is served', async () => {
    assert.equal((await call(await load('emit0.mjs:app'))).body, 'later', "a listener may return emit()'s boolean and answer later");
    assert.equal((await call(await load('queue0.mjs:app'))).body, 'queued', "a queue's push() count");
    assert.equal((await call(await load('status0.mjs:app'))).body, 'status object');
    const warnings: Error[] = [];
    const onWarning = (w: Error): number => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const app = await load('body0.mjs:app');
      const req = new IncomingMessage(new Socket());
      app.listener(req, new ServerResponse(req));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /declares no parameters and returned a string, not a Response/);
    assert.equal((warnings[0] as Error & { code?: string }).code, 'GTS_WARN_APP_RETURNED_TEXT');
  });

  test('a fetch handler sets status and headers and reads the request body', async () => {
    const fn = await call(await load('fetchfn.mjs:app'));
    assert.equal(fn.status, 201);
    assert.equal(fn.headers['x-a'], '1');
    const echo = await call(await load('fetchobj.mjs'), 'POST', 'hello body');
    assert.equal(echo.body, 'echo:hello body');
  });

  test('a fetch handler streams its response body', async () => {
    const res = await call(await load('stream.mjs'));
    assert.equal(res.body, 'chunk0;chunk1;chunk2;');
  });

  test('a body stream of Uint8Arrays from another realm (a vm context, as edge runtimes use) is bytes too', async () => {
    write('realm.mjs', `import vm from 'node:vm';
const ctx = vm.createContext({});
export default { fetch() { return new Response(new ReadableStream({ start(c) { c.enqueue(vm.runInContext('new Uint8Array([104, 105])', ctx)); c.enqueue(vm.runInContext('new Uint8Array([33])', ctx)); c.close(); } })); } };`);
    const res = await call(await load('realm.mjs'));
    assert.equal(res.status, 200, res.body);
    assert.equal(res.body, 'hi!');
  });

  test('pythonpath dirs are searched for MODULE before the working directory, as Gunicorn searches sys.path', async () => {
    write('lib/apps/served.mjs', 'export const app = (req, res) => res.end("from pythonpath");');
    write('lib/apps/esm.mjs', 'export const app = (req, res) => res.end("pythonpath shadows cwd");');
    write('lib/apps/bare.js', 'export const app = (req, res) => res.end("bare name");');
    const searchPaths = [join(dir, 'lib/apps'), dir];
    const from = async (spec: string): Promise<string> => (await call(await loadApp(spec, { cwd: dir, searchPaths }))).body;
    assert.equal(await from('served.mjs:app'), 'from pythonpath');
    assert.equal(await from('esm.mjs:app'), 'pythonpath shadows cwd');
    assert.equal(await from('./esm.mjs:app'), 'esm:/p?q=1', 'an explicit ./ path is relative to the working directory only');
    assert.equal(await from('bare:app'), 'bare name', 'a bare name finds NAME.js, as hello finds hello.py');
    assert.equal(await from('my-app-pkg:app'), 'pkg', 'packages are still found');
    write('node_modules/shadowed/package.json', JSON.stringify({ name: 'shadowed', type: 'module', exports: './index.js' }));
    write('node_modules/shadowed/index.js', 'export const app = (req, res) => res.end("installed package");');
    write('shadowed.js', 'export const app = (req, res) => res.end("project file");');
    assert.equal(await from('shadowed:app'), 'project file', 'a project file shadows an installed package of the same name, as cwd comes first on sys.path');
    await assert.rejects(loadApp('./served.mjs:app', { cwd: dir, searchPaths }), /App module "\.\/served\.mjs" not found/);
  });

  const failures: Array<[string, string, RegExp]> = [
    ['missing.js:app', 'GTS_ERR_APP_NOT_FOUND', /App module "missing\.js" not found; tried:/],
    ['no-such-package:app', 'GTS_ERR_APP_NOT_FOUND', /no-such-package/],
    ['esm.mjs:nope', 'GTS_ERR_APP_EXPORT_NOT_FOUND', /has no export "nope" \(exports: app\)/],
    ['throws.mjs:app', 'GTS_ERR_APP_LOAD', /kaboom at import/],
    ['number.mjs:app', 'GTS_ERR_APP_INVALID', /found a number \(42\)/],
    ['esm.mjs:not valid', 'GTS_ERR_APP_SPEC', /not an export name/],
    ['', 'GTS_ERR_APP_SPEC', /empty/],
  ];
  for (const [spec, code, message] of failures) {
    test(`${JSON.stringify(spec)} fails with ${code}`, async () => {
      await assert.rejects(load(spec), (err: unknown) => {
        assert.ok(isGtsError(err), String(err));
        assert.equal(err.code, code);
        assert.match(err.message, message);
        return true;
      });
    });
  }
});
