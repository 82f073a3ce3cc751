// The hello-world request listener every Node row serves (gunicorn-ts, node:cluster, a single
// http.createServer, pm2). Same bytes as apps/hello_wsgi.py: 200, text/plain, explicit length.
const BODY = Buffer.from('Hello, world!\n');
const HEADERS = { 'Content-Type': 'text/plain', 'Content-Length': String(BODY.length) };

export function app(_req, res) {
  res.writeHead(200, HEADERS);
  res.end(BODY);
}
