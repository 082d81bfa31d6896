import { defineConfig } from "vitest/config";
import { packageVitestConfig } from "../../vitest.shared.js";

// The black-box tests spawn the real binary many times and mostly wait on
// those child processes, so test files run side by side (even on two cores)
// and more tests run at once; a single test may take several seconds under a
// busy workspace-wide `pnpm test`.
const base = packageVitestConfig({ testTimeout: 120_000 });

export default defineConfig({ ...base, test: { ...base.test, maxConcurrency: 8, maxWorkers: 4, hookTimeout: 120_000 } });
