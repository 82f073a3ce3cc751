#!/usr/bin/env node
// Runs every compiled test file of the workspace (test/dist and plugins/*/test/dist) with
// node's test runner. Extra arguments filter the files by substring: `node test/run-tests.mjs http`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const roots = [join(root, 'test', 'dist')];
for (const name of readdirSync(join(root, 'plugins'))) roots.push(join(root, 'plugins', name, 'test', 'dist'));

function collect(dir, out) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (entry.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = roots
  .flatMap((dir) => collect(dir, []))
  .filter((file) => filters.length === 0 || filters.some((f) => relative(root, file).includes(f)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no compiled test files found (did `npm run build` run?)');
  process.exit(1);
}
const args = ['--test', '--test-concurrency=2', '--test-timeout=180000', '--test-reporter=spec', ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
