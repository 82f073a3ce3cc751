// Issue 6's targets, checked against one run's rows. Each check names the rows it compares;
// a check whose rows did not run is reported as not measured rather than failed.
function find(rows, id, profile) {
  return rows.find((r) => r.id === id && r.profile === profile && r.result !== undefined)?.result;
}

function ratioCheck(rows, name, id, baseId, profile, min) {
  const a = find(rows, id, profile);
  const b = find(rows, baseId, profile);
  if (a === undefined || b === undefined) return { name, status: 'not measured' };
  const ratio = a.rps / b.rps;
  return { name, status: ratio >= min ? 'met' : 'missed', detail: `${ratio.toFixed(2)} × (target ≥ ${min})` };
}

export function checkTargets(rows) {
  const checks = [
    ratioCheck(rows, 'evented -w 2 vs node:cluster, keep-alive', 'gts-evented', 'node-cluster', 'keepalive', 1.0),
    ratioCheck(rows, 'evented -w 2 vs node:cluster, Connection: close', 'gts-evented', 'node-cluster', 'close', 1.8),
    ratioCheck(rows, 'sync -w 2 vs Gunicorn sync, keep-alive profile', 'gts-sync', 'gunicorn-sync', 'keepalive', 1.1),
    ratioCheck(rows, 'sync -w 2 vs Gunicorn sync, Connection: close', 'gts-sync', 'gunicorn-sync', 'close', 1.1),
    ratioCheck(rows, 'gthread --threads 2 vs --threads 1, CPU-bound', 'gts-gthread-t2', 'gts-gthread-t1', 'cpu', 1.6),
  ];
  const cluster = find(rows, 'node-cluster', 'latency');
  const single = rows.filter((r) => r.id === 'node-single' && r.result !== undefined).map((r) => r.result.rss.workerMb);
  const singleMb = single.length > 0 ? Math.max(...single) : undefined;
  for (const id of ['gts-sync', 'gts-evented', 'gts-gthread']) {
    const own = find(rows, id, 'latency');
    const name = `${id} p99 ≤ node:cluster p99 (8 connections)`;
    checks.push(
      own === undefined || cluster === undefined
        ? { name, status: 'not measured' }
        : { name, status: own.p99Ms <= cluster.p99Ms ? 'met' : 'missed', detail: `${own.p99Ms.toFixed(2)} ms vs ${cluster.p99Ms.toFixed(2)} ms` },
    );
    const mbs = rows.filter((r) => r.id === id && r.result !== undefined).map((r) => r.result.rss.workerMb);
    const rssName = `${id} worker RSS ≤ 1.25 × a bare http.createServer process`;
    checks.push(
      mbs.length === 0 || singleMb === undefined
        ? { name: rssName, status: 'not measured' }
        : { name: rssName, status: Math.max(...mbs) <= 1.25 * singleMb ? 'met' : 'missed', detail: `${Math.max(...mbs).toFixed(0)} MB vs ${singleMb.toFixed(0)} MB` },
    );
  }
  return checks;
}

export function formatChecks(checks, bullet = '') {
  return checks.map((c) => `${bullet}${c.status.padEnd(12)} ${c.name}${c.detail ? `: ${c.detail}` : ''}`).join('\n');
}
