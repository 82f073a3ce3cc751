#!/usr/bin/env node
// The installed `gunicorn-ts` command. It exists before the TypeScript is built, so npm can
// link it at install time; the CLI itself is the compiled dist/cli/bin.js.
import '../dist/cli/bin.js';
