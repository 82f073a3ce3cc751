// The load profiles: what wrk sends, and which row every other row is compared with.
export const PROFILES = {
  keepalive: {
    title: '64 keep-alive connections',
    wrk: { connections: 64 },
    baseline: 'node-cluster',
  },
  close: {
    title: '64 connections, Connection: close',
    wrk: { connections: 64, headers: ['Connection: close'] },
    baseline: 'node-cluster',
  },
  latency: {
    title: '8 keep-alive connections (latency)',
    wrk: { connections: 8, latency: true },
    baseline: 'node-cluster',
  },
  cpu: {
    title: 'CPU-bound handler (apps/cpu.js, ~2.5 ms per request), 8 keep-alive connections',
    wrk: { connections: 8 },
    baseline: 'gts-gthread-t1',
  },
};
