#!/usr/bin/env node
// Hello-world server for comparing the HTTP front with Node's http.Server (same app, same
// socket options). Not a test. Usage, after `npx tsc -b test`:
//   taskset -c 0 node test/http/bench-hello.mjs ours   # or: node
//   taskset -c 1 wrk -t1 -c32 -d5s http://127.0.0.1:<printed port>/
//   kill -INT <pid>   → prints the server's CPU time per request (robust on a busy machine,
//                        unlike req/s)
import http from 'node:http';
import net from 'node:net';

const kind = process.argv[2] ?? 'ours';
let requests = 0;
let cpuStart = process.cpuUsage();

function app(req, res) {
  requests++;
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('Hello, World!\n');
}

let server;
if (kind === 'node') {
  server = http.createServer(app);
} else {
  const { HttpConnection, DEFAULT_HTTP_PROTOCOL_OPTIONS } = await import(new URL('../../core/dist/http/index.js', import.meta.url).href);
  const options = { ...DEFAULT_HTTP_PROTOCOL_OPTIONS, serverHeader: 'gunicorn-ts/0.1.0', keepAliveTimeoutMs: 5000 };
  const callbacks = { onAppError: (err) => console.error(err) };
  server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => new HttpConnection(socket, app, options, callbacks).start());
}
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
// Measure after a short warm-up.
setTimeout(() => {
  requests = 0;
  cpuStart = process.cpuUsage();
}, 1000);
process.on('SIGINT', () => {
  const used = process.cpuUsage(cpuStart);
  const perRequest = (used.user + used.system) / Math.max(1, requests);
  console.error(`${kind}: ${requests} requests, CPU ${perRequest.toFixed(2)} µs/request (user ${(used.user / Math.max(1, requests)).toFixed(2)})`);
  process.exit(0);
});
