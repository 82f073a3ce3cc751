// The results table, as aligned text for the terminal and as markdown for results/latest.md.
const HEADER = ['server', 'profile', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU s', 'RSS MB', 'worker MB', 'other CPU s', '× baseline', 'req/s of each round'];

/** One row's cells; `result` is undefined for a row that could not run. */
function cells(row) {
  if (row.result === undefined) return [row.label, row.profile, 'not available', '', '', '', '', '', '', '', row.reason ?? '', ''];
  const r = row.result;
  return [
    row.label,
    row.profile,
    Math.round(r.rps).toLocaleString('en-US'),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    String(r.errors),
    r.cpuSeconds.toFixed(1),
    r.rss.treeMb.toFixed(0),
    r.rss.workerMb.toFixed(0),
    r.otherCpuSeconds.toFixed(1),
    row.ratio === undefined ? '' : row.ratio.toFixed(2),
    row.rounds === undefined || row.rounds.length < 2 ? '' : row.rounds.map((rps) => rps.toLocaleString('en-US')).join(' / '),
  ];
}

export function textTable(rows) {
  const lines = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7, 8, 9]);
  const fmt = (l) => l.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [fmt(lines[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(fmt)].join('\n');
}

export function markdownTable(rows) {
  const esc = (c) => c.replaceAll('|', '\\|');
  const align = HEADER.map((_, i) => (i >= 2 && i <= 9 ? '---:' : '---'));
  return [HEADER, align, ...rows.map(cells)].map((l) => `| ${l.map(esc).join(' | ')} |`).join('\n');
}
