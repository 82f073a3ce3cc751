// One http.createServer process serving apps/hello.js: the per-process baseline (RSS, p99).
import { createServer } from 'node:http';
import { app } from '../apps/hello.js';

const port = Number(process.env.PORT);
createServer(app).listen(port, '127.0.0.1');
