/**
 * How a worker wraps the connections the native addon accepts (core/src/worker/socket-from-fd.ts).
 * The fast path builds the socket from Node's handle classes through process.binding(), which
 * would print DEP0111 under --pending-deprecation. So in that mode the worker falls back to
 * net.Socket({ fd }), and it still tells the app its peer.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cleanup, eventsApp, httpGet, listeningPort, startServer, stopServer, tempDir } from '../support/index.js';

after(cleanup);

describe('accepted sockets', () => {
  it('under --pending-deprecation: no deprecation warning, and the app still sees its peer', async () => {
    const dir = tempDir('gts-sockets-');
    const server = await startServer(['-k', 'sync', '-w', '1', '-b', '127.0.0.1:0', eventsApp(dir)], {
      cwd: dir,
      env: { NODE_OPTIONS: '--pending-deprecation' },
    });
    try {
      const port = listeningPort(server);
      for (let i = 0; i < 3; i++) {
        const res = await httpGet({ port, path: '/peer' });
        assert.equal(res.status, 200);
        assert.match(res.body, /^address=127\.0\.0\.1 family=IPv4 port=\d+\n$/);
      }
      assert.doesNotMatch(server.output(), /DeprecationWarning|DEP0111/);
    } finally {
      await stopServer(server);
    }
  });
});
