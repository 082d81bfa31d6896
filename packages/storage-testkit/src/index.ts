/**
 * @actionqueue/storage-testkit — the conformance suite every ActionQueue
 * storage backend runs against itself. Call
 * {@link registerBackendConformanceTests} inside a vitest test file with a
 * factory for your backend; it registers one `describe` block of tests.
 */
export { registerBackendConformanceTests } from "./conformance.js";
export type { BackendHarness, BackendFactory } from "./conformance.js";
