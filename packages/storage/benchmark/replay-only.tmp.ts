import { openStorage } from "../src/index.js";
const dir = process.argv[2]!;
const t = performance.now();
const s = await openStorage({ dataDir: dir, reconcile: false });
console.log("replayed", s.recoveryReport.walRecordsReplayed, "in", ((performance.now() - t) / 1000).toFixed(2), "s; snapshot", s.recoveryReport.snapshot?.sequence);
await s.close();
