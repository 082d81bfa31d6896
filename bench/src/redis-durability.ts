/**
 * Switches the local Redis to BullMQ's documented production persistence
 * (appendonly yes, appendfsync everysec) for the duration of the bench and
 * restores the previous values afterwards. When CONFIG is refused the bench
 * runs against Redis as it is and says so in the result.
 */
import { redisClient } from "./systems/bullmq.js";
import { sleep } from "./stats.js";

export interface RedisDurabilityState {
  /** What the results ran with, in words. */
  readonly setting: string;
  /** Restores the previous configuration (no-op if nothing was changed). */
  restore(): Promise<void>;
}

async function aofRewriteDone(): Promise<void> {
  const r = await redisClient();
  try {
    for (let i = 0; i < 300; i++) {
      const info = await r.info("persistence");
      if (/aof_rewrite_in_progress:0/.test(info) && !/aof_rewrite_scheduled:1/.test(info) && /aof_enabled:1/.test(info)) return;
      await sleep(100);
    }
  } finally {
    r.disconnect();
  }
}

/** Applies appendonly=yes appendfsync=everysec unless `keep`; returns how to undo it. */
export async function applyRedisDurability(keep: boolean): Promise<RedisDurabilityState> {
  const r = await redisClient();
  try {
    const ao = ((await r.config("GET", "appendonly")))[1] ?? "?";
    const fs = ((await r.config("GET", "appendfsync")))[1] ?? "?";
    if (keep) return { setting: `as configured: appendonly=${ao} appendfsync=${fs} (--keep-redis-config)`, restore: () => Promise.resolve() };
    if (ao === "yes" && fs === "everysec") return { setting: "appendonly=yes appendfsync=everysec (already configured)", restore: () => Promise.resolve() };
    try {
      await r.config("SET", "appendfsync", "everysec");
      await r.config("SET", "appendonly", "yes");
    } catch (error) {
      return {
        setting: `as configured: appendonly=${ao} appendfsync=${fs} (CONFIG SET refused: ${error instanceof Error ? error.message : String(error)})`,
        restore: () => Promise.resolve(),
      };
    }
    await aofRewriteDone();
    return {
      setting: `appendonly=yes appendfsync=everysec (switched at run time from appendonly=${ao} appendfsync=${fs}, restored afterwards)`,
      async restore() {
        const c = await redisClient();
        try {
          await c.config("SET", "appendonly", ao);
          await c.config("SET", "appendfsync", fs);
        } finally {
          c.disconnect();
        }
      },
    };
  } finally {
    r.disconnect();
  }
}
