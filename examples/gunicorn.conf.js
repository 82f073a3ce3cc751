// An example config file: settings by name, hooks as functions.
//   npx gunicorn-ts -c examples/gunicorn.conf.js examples/hello.js:app
export const bind = ['127.0.0.1:8000'];
export const workers = 2;
export const worker_class = 'sync';
export const accesslog = '-';

export function when_ready(server) {
  server.log.info('Server is ready. Spawning workers');
}

export function post_fork(server, worker) {
  server.log.info('Worker spawned (pid: %s)', worker.pid);
}
