/**
 * The registry of benchmarked systems. Drivers are imported lazily, so a
 * peer whose client library is missing (plainjob) is reported as skipped
 * instead of breaking every other system.
 */
import type { SystemDriver, SystemName } from "./types.js";

/** Imports the driver of `name`. */
export async function loadDriver(name: SystemName): Promise<SystemDriver> {
  switch (name) {
    case "actionqueue":
      return (await import("./actionqueue.js")).actionQueueDriver;
    case "bullmq":
      return (await import("./bullmq.js")).bullmqDriver;
    case "pgboss":
      return (await import("./pgboss.js")).pgBossDriver;
    case "plainjob":
      return (await import("./plainjob.js")).plainJobDriver;
  }
}
