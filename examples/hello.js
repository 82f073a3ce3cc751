// The bundled example app: a plain Node request listener.
//   npx gunicorn-ts examples/hello.js:app
export function app(req, res) {
  const body = 'Hello, world!\n';
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
