// The script pm2 runs in cluster mode (-i 2): each instance listens on PORT and pm2's God
// process, as the node:cluster primary, distributes the connections round-robin.
import { createServer } from 'node:http';
import { app } from '../apps/hello.js';

createServer(app).listen(Number(process.env.PORT), '127.0.0.1');
