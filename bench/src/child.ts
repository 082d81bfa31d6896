/**
 * Entry point of a workload child process: reads its {@link ChildTask} from
 * argv, opens the system, runs the one workload role it was given, sends the
 * metrics to the orchestrator over IPC and exits.
 */
import { loadDriver } from "./systems/index.js";
import { runCrashWorker } from "./workloads/crash.js";
import { runLatency } from "./workloads/latency.js";
import { runRetries } from "./workloads/retries.js";
import { runThroughput } from "./workloads/throughput.js";
import type { ChildMessage, ChildTask, Metrics } from "./workloads/types.js";

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) {
      console.log(JSON.stringify(message));
      resolve();
    } else process.send(message, undefined, {}, () => resolve());
  });
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? "") as ChildTask;
  const driver = await loadDriver(task.system);
  let metrics: Metrics;
  switch (task.role) {
    case "throughput":
      metrics = await runThroughput(driver, task);
      break;
    case "throughput-warm":
      metrics = await runThroughput(driver, task, { warmUp: true });
      break;
    case "latency":
      metrics = await runLatency(driver, task);
      break;
    case "retries":
      metrics = await runRetries(driver, task);
      break;
    case "crash-worker":
      metrics = await runCrashWorker(driver, task);
      break;
    case "heap":
      // Imported here so the peers' children never load the ActionQueue runtime.
      metrics = await (await import("./heap.js")).measureHeap(task.heapRuns ?? task.sizes.heapRuns, task.namespace);
      break;
  }
  await send({ kind: "result", metrics });
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    await send({ kind: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  },
);
