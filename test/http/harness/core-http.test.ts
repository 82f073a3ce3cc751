/*
 * Test harness module of the HTTP suites. Named *.test.ts only so that test/tsconfig.json
 * compiles it (its include pattern only takes *.test.ts here); it defines no test cases.
 */
/**
 * The http module of core, for the HTTP suites. TEMPORARY: core's public index does not export
 * it yet (and package "exports" forbids deep imports), so it is loaded from core's build output
 * by path; types come from the referenced core project. Replace with
 * `import { ... } from '@gunicorn-ts/core'` once core/src/index.ts re-exports ./http/index.js.
 */
import type * as CoreHttp from '../../../core/src/http/index.js';

const moduleUrl = new URL('../../../../core/dist/http/index.js', import.meta.url).href;

export const coreHttp = (await import(moduleUrl)) as typeof CoreHttp;
export type * from '../../../core/src/http/index.js';
