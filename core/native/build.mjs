// Builds the optional accept addon with node-gyp (npm's bundled copy). A failure is not fatal:
// workers fall back to net.Server, which cannot pause accepting (see docs/arbiter.md).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function nodeGypCommand() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, [fromNpm]];
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, [bundled]];
  return ['node-gyp', []];
}

const [cmd, prefix] = nodeGypCommand();
const args = [...prefix, 'rebuild'];
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const result = spawnSync(cmd, args, { cwd: here, stdio: 'inherit' });
if (result.status !== 0) {
  console.warn('gunicorn-ts: the native accept addon did not build; workers will accept through net.Server and cannot pause accepting while busy.');
}
