import { openStorage } from "../src/index.js";
export {};
const dataDir = process.argv[2]!;
for (let i = 0; i < 4; i++) {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const s = await openStorage({ dataDir, reconcile: false });
  const u = process.cpuUsage(cpu);
  console.log(((performance.now() - t) / 1000).toFixed(2), "wall", ((u.user + u.system) / 1e6).toFixed(2), "cpu", s.recoveryReport.walRecordsReplayed);
  await s.close();
}
