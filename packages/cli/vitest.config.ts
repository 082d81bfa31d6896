import { defineConfig } from "vitest/config";
import { packageVitestConfig } from "../../vitest.shared.js";

// The black-box tests spawn the real binary many times: they wait on child
// processes, so more of them run at once, and a single test may take several
// seconds under a busy workspace-wide `pnpm test`.
const base = packageVitestConfig({ testTimeout: 60_000 });

export default defineConfig({ ...base, test: { ...base.test, maxConcurrency: 8 } });
