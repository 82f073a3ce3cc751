/**
 * The test app as the gunicorn-ts CLI loads it (`test/dist/http/harness/cli-app.js:app`), with
 * its invocation count in the file the CLI target names (see invocations-file.ts).
 */
import { createTestApp } from './app.js';
import { fileCounter, INVOCATIONS_FILE_ENV } from './invocations-file.js';

function counterFile(): string {
  const path = process.env[INVOCATIONS_FILE_ENV];
  if (path === undefined || path === '') throw new Error(`${INVOCATIONS_FILE_ENV} must name the invocation counter file`);
  return path;
}

export const app = createTestApp(fileCounter(counterFile()));
