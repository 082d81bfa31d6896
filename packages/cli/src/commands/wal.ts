/**
 * `wal verify` and `wal repair`. Verify only reads (it works beside a running
 * writer) and reports each finding with file, offset and whether the next
 * writer open repairs it by itself; it also replays the log as recovery
 * would, and exits 0 only for a clean log that recovery accepts. Repair
 * takes the writer lock and cuts only what the storage rules allow: a torn
 * tail, plus a damaged final record with `--truncate-partial`; damage that
 * valid records follow is refused.
 */
import { join } from "node:path";
import type { Command } from "commander";
import { ActionQueueError } from "@actionqueue/core";
import { acquireDataDirLock, describeFinding, openStorageReadOnly, repairWal, verifyWal } from "@actionqueue/storage";
import type { ReadOnlyStorage, WalFinding, WalTruncation } from "@actionqueue/storage";
import { CliError, errorReport } from "../cli-error.js";
import type { CommandContext, CommandResult } from "../context.js";
import { assertDataDirExists } from "../data-dir.js";
import { formatKeyValues, plural } from "../output.js";
import type { ActionRunner, OptionBag } from "./action.js";
import { flag } from "./action.js";

/** The WAL directory inside a data directory. */
export function walDirOf(dataDir: string): string {
  return join(dataDir, "wal");
}

/** What the next writer open does about a finding, in words. */
export function describeRepair(finding: Pick<WalFinding, "repair">): string {
  switch (finding.repair) {
    case "automatic":
      return "the next open removes it by itself";
    case "truncatePartial":
      return "the next open refuses it; `actionqueue wal repair --truncate-partial` drops the damaged final record";
    case "none":
      return "no automatic repair: valid records follow it or the file is not ours; restore from a backup";
  }
}

/** A finding as printed by `wal verify --json`. */
export function findingJson(finding: WalFinding): Record<string, unknown> {
  return {
    kind: finding.kind,
    file: finding.file,
    offset: finding.offset,
    message: finding.message,
    repair: finding.repair,
    repairedByNextOpen: finding.repair === "automatic",
    truncateAt: finding.truncateAt,
    bytesRemovedByRepair: finding.bytesRemoved,
    deletesFile: finding.deleteFile,
  };
}

/**
 * What recovery makes of the records: the read-only open replays them into
 * a projection as the next writer open would. A record that frames and
 * checksums correctly can still be refused there (an illegal transition, a
 * sequence gap), and then the directory does not open.
 */
type ReplayCheck =
  | { readonly ok: true; readonly recordsReplayed: number; readonly snapshot: ReadOnlyStorage["snapshot"]; readonly skippedSnapshots: ReadOnlyStorage["skippedSnapshots"] }
  | { readonly ok: false; readonly error: ActionQueueError };

function checkReplay(dataDir: string): ReplayCheck {
  try {
    const read = openStorageReadOnly({ dataDir });
    return { ok: true, recordsReplayed: read.walRecordsReplayed, snapshot: read.snapshot, skippedSnapshots: read.skippedSnapshots };
  } catch (error) {
    if (ActionQueueError.is(error)) return { ok: false, error };
    throw error;
  }
}

function replayJson(replay: ReplayCheck): Record<string, unknown> {
  if (!replay.ok) return { ok: false, code: replay.error.code, message: replay.error.message };
  return {
    ok: true,
    recordsReplayed: replay.recordsReplayed,
    snapshot: replay.snapshot ?? null,
    skippedSnapshots: replay.skippedSnapshots,
  };
}

function verify(ctx: CommandContext): Promise<CommandResult> {
  const dataDir = ctx.dataDir();
  assertDataDirExists(dataDir);
  const walDir = walDirOf(dataDir);
  const report = verifyWal(walDir);
  const replay = checkReplay(dataDir);
  const clean = report.clean && replay.ok;
  const value = {
    walDir,
    clean,
    opensCleanly: report.opensCleanly && replay.ok,
    segments: report.segments.length,
    records: report.records,
    lastSequence: report.lastSequence,
    findings: report.findings.map(findingJson),
    replay: replayJson(replay),
  };
  const head = formatKeyValues([
    ["wal", walDir],
    ["segments", report.segments.length],
    ["records", report.records],
    ["last sequence", report.lastSequence],
    ["replay", replay.ok ? `ok (${plural(replay.recordsReplayed, "record")} after ${replay.snapshot === undefined ? "no snapshot" : `the snapshot at sequence ${replay.snapshot.sequence}`})` : "refused"],
    ["status", clean ? "clean" : "damaged"],
  ]);
  const skipped = replay.ok
    ? replay.skippedSnapshots.map((s) => `snapshot skipped: ${s.file} (${s.reason}); recovery uses an older snapshot or the WAL\n`).join("")
    : "";
  const findings = report.findings.map((finding) => `damage: ${describeFinding(finding)}; ${describeRepair(finding)}\n`).join("");
  const first = report.findings[0];
  if (first !== undefined) {
    const error = new CliError("WAL_DAMAGED", `WAL damage in ${describeFinding(first)}; ${describeRepair(first)}`);
    return Promise.resolve({ value, text: head + findings + skipped, failure: errorReport(error) });
  }
  if (!replay.ok) {
    // Frames are intact but recovery refuses a record: no repair mode cuts a valid record.
    const refused = `refused: ${replay.error.message}; no repair mode removes a well-formed record: restore from a backup\n`;
    return Promise.resolve({ value, text: head + refused, failure: errorReport(replay.error) });
  }
  return Promise.resolve({ value, text: head + skipped });
}

function describeTruncation(truncation: WalTruncation): string {
  return truncation.deletedFile
    ? `deleted ${truncation.file} (${plural(truncation.bytesRemoved, "byte")}, ${truncation.kind})`
    : `removed ${plural(truncation.bytesRemoved, "byte")} from ${truncation.file} at offset ${truncation.offset} (${truncation.kind})`;
}

function repair(ctx: CommandContext, options: OptionBag): Promise<CommandResult> {
  const truncatePartial = flag(options, "truncatePartial");
  const dataDir = ctx.dataDir();
  assertDataDirExists(dataDir);
  const walDir = walDirOf(dataDir);
  const lock = acquireDataDirLock(dataDir);
  let result: ReturnType<typeof repairWal>;
  try {
    result = repairWal(walDir, { truncatePartial });
  } finally {
    lock.release();
  }
  const value = { walDir, removed: result.truncations, lastSequence: result.lastSequence };
  const text =
    result.truncations.length === 0
      ? `nothing to repair: the WAL in ${walDir} is clean (last sequence ${result.lastSequence})\n`
      : result.truncations.map((t) => `${describeTruncation(t)}\n`).join("") + `last sequence ${result.lastSequence}\n`;
  return Promise.resolve({ value, text });
}

/** Registers `wal verify` and `wal repair`. */
export function registerWal(program: Command, run: ActionRunner): void {
  const wal = program.command("wal").description("Check and repair the write-ahead log");
  wal
    .command("verify")
    .description("Check the WAL without changing it; exit 0 only when it is clean, 4 otherwise")
    .action(run((ctx) => verify(ctx)));
  wal
    .command("repair")
    .description("Remove a torn tail (what the next open would remove) and, with --truncate-partial, a damaged final record")
    .option("--truncate-partial", "also drop a damaged final record that nothing valid follows")
    .action(run((ctx, _args, options) => repair(ctx, options)));
}
