/**
 * An invocation counter shared by every thread and process of a CLI server: GET /count must
 * count every invocation, but a gthread worker imports the app once per app thread, so a module
 * variable would count per thread. Each invocation appends one byte to a file (O_APPEND writes
 * are atomic across threads and processes) and the count is the file's size.
 */
import { appendFileSync, statSync } from 'node:fs';
import type { InvocationCounter } from './app.js';

/** The environment variable the CLI target sets to the counter file's path. */
export const INVOCATIONS_FILE_ENV = 'GTS_TEST_INVOCATIONS_FILE';

export function fileCounter(path: string): InvocationCounter {
  return {
    increment: () => appendFileSync(path, '.'),
    read: () => statSync(path).size,
  };
}
