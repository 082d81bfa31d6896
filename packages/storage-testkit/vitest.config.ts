import { fileURLToPath } from "node:url";
import { mergeConfig } from "vitest/config";
import { packageVitestConfig } from "../../vitest.shared.js";

// The suite tests itself against the two backends @actionqueue/storage ships;
// the package's own name points at its sources so no build is needed.
export default mergeConfig(packageVitestConfig(), {
  resolve: {
    alias: {
      "@actionqueue/storage-testkit": fileURLToPath(new URL("./src/index.ts", import.meta.url)),
      "@actionqueue/storage": fileURLToPath(new URL("../storage/src/index.ts", import.meta.url)),
    },
  },
});
