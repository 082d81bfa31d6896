/**
 * Opening a data directory the two ways commands need: read-only through an
 * inspector (never creates, locks or writes anything, works beside a running
 * writer), and for writing (takes the lock). Both close whatever happens.
 */
import { describeFinding } from "@actionqueue/storage";
import type { CommandContext } from "../context.js";
import { assertDataDirExists } from "../data-dir.js";
import { ActionQueue } from "../internal/runtime.js";
import type { ActionQueueOptions, Queue, QueueInspector } from "../internal/runtime.js";

/** Runs `fn` with a read-only inspector of the (existing) data directory. */
export async function withInspector<T>(ctx: CommandContext, fn: (inspector: QueueInspector, dataDir: string) => T | Promise<T>): Promise<T> {
  const dataDir = ctx.dataDir();
  assertDataDirExists(dataDir);
  const inspector = await ActionQueue.inspect(dataDir);
  try {
    for (const finding of inspector.findings) {
      const next = finding.repair === "automatic" ? "the next writer open removes it" : "run `actionqueue wal verify` for details";
      ctx.warn(`WAL damage ignored by this read: ${describeFinding(finding)}; ${next}`);
    }
    return await fn(inspector, dataDir);
  } finally {
    await inspector.close();
  }
}

/**
 * Opens the queue for writing and tells the operator (stderr, text mode) what
 * recovery did: torn tails it removed, runs a dead writer left in flight.
 */
export async function openQueue(ctx: CommandContext, options: ActionQueueOptions): Promise<Queue> {
  const queue = await ActionQueue.open(options);
  const report = queue.recoveryReport;
  for (const cut of report.truncations) {
    ctx.warn(
      `recovery removed a torn WAL tail: ${cut.bytesRemoved} bytes of ${cut.file} at offset ${cut.offset} (${cut.kind}); it was never acknowledged`,
    );
  }
  if (report.reconciledRuns.length > 0) {
    // An abandoned attempt counts toward maxAttempts (its handler may have run): a run with none left fails instead.
    const failed = report.reconciledRuns.filter((run) => run.to === "failed").length;
    const again = report.reconciledRuns.length - failed;
    if (again > 0) ctx.warn(`recovery made ${again} run(s) left in flight by a stopped writer eligible again`);
    if (failed > 0) ctx.warn(`recovery failed ${failed} run(s) left in flight by a stopped writer: their abandoned attempt was their last (maxAttempts)`);
  }
  return queue;
}

/** Runs `fn` with the queue opened for writing on the (existing) data directory, then closes it. */
export async function withQueue<T>(ctx: CommandContext, fn: (queue: Queue, dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = ctx.dataDir();
  assertDataDirExists(dataDir);
  const queue = await openQueue(ctx, { dataDir });
  let result: T;
  try {
    result = await fn(queue, dataDir);
  } catch (error) {
    await queue.close().catch(() => undefined);
    throw error;
  }
  await queue.close();
  return result;
}
