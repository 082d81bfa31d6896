import { fileURLToPath } from "node:url";
import { mergeConfig } from "vitest/config";
import { packageVitestConfig } from "../../vitest.shared.js";

// Black-box tests import the package by name; point that name at the sources
// so the suite runs without a prior build.
export default mergeConfig(packageVitestConfig({ testTimeout: 30_000 }), {
  resolve: { alias: { "@actionqueue/storage": fileURLToPath(new URL("./src/index.ts", import.meta.url)) } },
});
