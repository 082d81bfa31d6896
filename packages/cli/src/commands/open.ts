/**
 * Opening a data directory the two ways commands need: read-only through an
 * inspector (never creates, locks or writes anything, works beside a running
 * writer), and for writing (takes the lock). Both close whatever happens.
 */
import { describeFinding } from "@actionqueue/storage";
import type { CommandContext } from "../context.js";
import { assertDataDirExists } from "../data-dir.js";
import { ActionQueue } from "../internal/runtime.js";
import type { Queue, QueueInspector } from "../internal/runtime.js";

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

/** Runs `fn` with the queue opened for writing on the (existing) data directory, then closes it. */
export async function withQueue<T>(ctx: CommandContext, fn: (queue: Queue, dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = ctx.dataDir();
  assertDataDirExists(dataDir);
  const queue = await ActionQueue.open({ dataDir });
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
