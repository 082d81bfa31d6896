import { packageVitestConfig } from "../../vitest.shared.js";

// The black-box tests spawn the real binary many times; under a busy
// workspace-wide `pnpm test` a single test can take several seconds.
export default packageVitestConfig({ testTimeout: 60_000 });
