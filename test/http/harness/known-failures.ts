/**
 * Conformance cases that fail on a target kind for a known cause in code this suite's owners
 * may not change (a worker class another engineer is finishing). Such a case still runs: while
 * it fails it is reported as TODO with its cause, so the run stays green and the bug stays in
 * view; once it passes it fails with "remove the entry", so a fixed bug cannot stay listed.
 */
import type { TestContext } from 'node:test';
import type { Target } from './target.js';

/** target kind → case title → the cause. */
const KNOWN_FAILURES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
};

/** Runs a case's body, holding it to its known failure on `target` if it has one. */
export async function withKnownFailures(t: TestContext, target: Target, body: () => Promise<void>): Promise<void> {
  const cause = KNOWN_FAILURES[target.name]?.[t.name];
  if (cause === undefined) return body();
  try {
    await body();
  } catch (err) {
    t.todo(`known ${target.name} bug: ${cause}`);
    throw err;
  }
  throw new Error(`this case now passes on ${target.name}: remove its entry from test/http/harness/known-failures.ts`);
}
