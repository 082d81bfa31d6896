// Shared vitest settings: every package writes a JSON report next to itself so
// `.ci/run` can add up one `N passed, N failed` line for the whole workspace.
import { defineConfig } from "vitest/config";

export function packageVitestConfig(extra: { include?: string[]; testTimeout?: number } = {}) {
  return defineConfig({
    test: {
      include: extra.include ?? ["src/**/*.test.ts", "test/**/*.test.ts"],
      environment: "node",
      pool: "forks",
      testTimeout: extra.testTimeout ?? 60_000,
      hookTimeout: 60_000,
      reporters: ["default", ["json", { outputFile: ".vitest-report.json" }]],
    },
  });
}
