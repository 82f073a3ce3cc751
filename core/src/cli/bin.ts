#!/usr/bin/env node
// The signal guard first (early-signals.ts), then the CLI through a dynamic import: a static
// one would load the whole module graph, about 100 ms, before any line here ran.
import '../util/early-signals.js';

const { main } = await import('./main.js');
process.exit(await main({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() }));
