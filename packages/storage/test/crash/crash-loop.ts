/**
 * One crash-loop round and its checks, shared by the bounded CI test and the
 * long soak script: spawn the child, kill it with SIGKILL at a random moment,
 * reopen, and check that every acknowledged command survived, sequences are
 * contiguous, and recovery left no run Leased or Running.
 */
import { spawn } from "node:child_process";
import type { WalSyncMode } from "../../src/index.js";
import { fileURLToPath } from "node:url";
import { openStorage, scanWal } from "../../src/index.js";
import { join } from "node:path";

const child = fileURLToPath(new URL("./child.ts", import.meta.url));

/** Result of one round. */
export interface RoundResult {
  readonly acked: number;
  readonly highestAck: number;
  readonly recoveredSequence: number;
  readonly truncations: number;
  readonly reconciled: number;
}

/** Runs one round against `dataDir`; throws with a precise message if a check fails. */
export async function crashRound(dataDir: string, seed: number, killAfterMs: number, syncMode: WalSyncMode = "writeThrough"): Promise<RoundResult> {
  const proc = spawn(process.execPath, ["--import", "tsx", child, dataDir, String(seed), syncMode], { stdio: ["ignore", "pipe", "pipe"] });
  let highestAck = 0;
  let acked = 0;
  let stderr = "";
  let buffer = "";
  let opened = false;
  let openedResolve!: () => void;
  const openedPromise = new Promise<void>((resolve) => (openedResolve = resolve));
  proc.stdout.setEncoding("utf8");
  proc.stdout.on("data", (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line.startsWith("ack ")) {
        acked++;
        highestAck = Math.max(highestAck, Number(line.slice(4)));
      } else if (line.startsWith("open ") && !opened) {
        opened = true;
        openedResolve();
      }
    }
  });
  proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  await Promise.race([openedPromise, exited]);
  if (!opened) throw new Error(`child failed to open ${dataDir}: ${stderr}`);
  await new Promise((resolve) => setTimeout(resolve, killAfterMs));
  proc.kill("SIGKILL");
  await exited;

  const store = await openStorage({ dataDir });
  try {
    const latest = store.authority.latestSequence();
    if (latest < highestAck) throw new Error(`acknowledged sequence ${highestAck} lost: recovered only up to ${latest}`);
    let previous = 0;
    scanWal(join(dataDir, "wal"), {
      onRecord: (record) => {
        if (record.sequence !== previous + 1) throw new Error(`sequence gap: ${record.sequence} after ${previous}`);
        previous = record.sequence;
      },
    });
    if (previous !== latest) throw new Error(`WAL ends at ${previous}, projection at ${latest}`);
    const counts = store.projection.countsByState();
    if (counts.leased !== 0 || counts.running !== 0) throw new Error(`recovery left ${counts.leased} leased and ${counts.running} running runs`);
    return {
      acked,
      highestAck,
      recoveredSequence: latest,
      truncations: store.recoveryReport.truncations.length,
      reconciled: store.recoveryReport.reconciledRuns.length,
    };
  } finally {
    await store.close();
  }
}
