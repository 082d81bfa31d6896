import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryLogStore, createFileBackend, createMemoryBackend } from "@actionqueue/storage";
import { registerBackendConformanceTests } from "@actionqueue/storage-testkit";

registerBackendConformanceTests("memory", () => {
  const store = new MemoryLogStore();
  return { create: () => createMemoryBackend(store) };
});

registerBackendConformanceTests("file", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "aq-conformance-"));
  return {
    create: () => createFileBackend({ dataDir, segmentBytes: 256 }),
    cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
  };
});
