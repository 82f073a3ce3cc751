/**
 * A worker process's entry file: `node core/dist/worker/entry.js TITLE`. It guards the signals
 * first (early-signals.ts), then loads the worker (main.ts) with a dynamic import: a static one
 * would load the whole module graph, about 100 ms, before any line here ran.
 */
import '../util/early-signals.js';

await import('./main.js');
