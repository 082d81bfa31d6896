/**
 * Times recovery of an existing data directory (no reconciliation), e.g. one
 * kept by `replay.ts --keep`, for profiling:
 * `node --import tsx --cpu-prof benchmark/recover.ts <dataDir> [repeat] --dist`.
 */
import { args, loadStorage } from "./load-storage.js";

const { openStorage } = await loadStorage();

const dataDir = args[0];
if (dataDir === undefined) throw new Error("usage: recover.ts <dataDir>");
const repeat = Number(args[1] ?? 1);
for (let round = 0; round < repeat; round++) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const store = await openStorage({ dataDir, reconcile: false });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  // CPU time is reported too: on a shared, loaded machine wall time overstates the cost.
  const cpuSeconds = (used.user + used.system) / 1e6;
  const report = store.recoveryReport;
  console.log(
    `recovered ${report.walRecordsReplayed.toLocaleString("en-US")} WAL events after snapshot ${report.snapshot?.sequence ?? "none"} ` +
      `(${store.projection.runCount.toLocaleString("en-US")} runs) in ${seconds.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU`,
  );
  await store.close();
}
