/**
 * `wal verify` and `wal repair` on real damage: a torn tail (garbage appended
 * or the last record cut) is reported as repaired by the next open and the
 * next `run` removes it by itself; a damaged final record (a flipped byte) is
 * refused until `wal repair --truncate-partial` drops it; damage that valid
 * records follow is never cut.
 */
import { appendFileSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseRunId } from "@actionqueue/core";
import { encodeEvent, openWalWriter, scanWal } from "@actionqueue/storage";
import type { WalRecord } from "@actionqueue/storage";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTempDirs, cli, cliJson, hashTree, jsonError, submitOnce, tempDir } from "./helpers.js";

afterAll(() => cleanupTempDirs());

async function populated(tasks = 3): Promise<{ dataDir: string; walDir: string; records: WalRecord[] }> {
  const dataDir = join(tempDir(), "data");
  await submitOnce(dataDir, tasks);
  const walDir = join(dataDir, "wal");
  const records: WalRecord[] = [];
  scanWal(walDir, { onRecord: (record) => records.push(record) });
  return { dataDir, walDir, records };
}

function flipByte(file: string, offset: number): void {
  const bytes = readFileSync(file);
  bytes[offset] = bytes[offset]! ^ 0xff;
  writeFileSync(file, bytes);
}

describe.concurrent("wal verify", () => {
  it("reports a clean log with exit 0", async () => {
    const { dataDir, records } = await populated(1);
    const { json } = await cliJson(["wal", "verify", "--data-dir", dataDir]);
    expect(json).toMatchObject({ clean: true, opensCleanly: true, findings: [], lastSequence: records.at(-1)!.sequence });
    expect(json.replay).toEqual({ ok: true, recordsReplayed: records.length, snapshot: null, skippedSnapshots: [] });
    const text = await cli(["wal", "verify", "--data-dir", dataDir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^status\s+clean$/m);
    expect(text.stdout).toMatch(/^replay\s+ok \(\d+ records? after no snapshot\)$/m);
  });

  it("replays the log as recovery would: a well-framed record recovery refuses fails verify (exit 4), and nothing is changed", async () => {
    const { dataDir, walDir, records } = await populated(1);
    // A record with intact frame and checksum for a run that does not exist, as a buggy writer could leave.
    const sequence = records.at(-1)!.sequence + 1;
    const { writer } = await openWalWriter(walDir);
    const command = { kind: "runStateTransition", sequence, timestamp: Date.now(), runId: parseRunId("01ARZ3NDEKTSV4RRFFQ69G5FAV"), previousState: "scheduled", newState: "ready" } as const;
    await writer.append(sequence, encodeEvent(command), "immediate");
    await writer.close();
    const before = hashTree(dataDir);

    const verify = await cli(["wal", "verify", "--json", "--data-dir", dataDir]);
    expect(verify.code).toBe(4);
    const report = JSON.parse(verify.stdout);
    expect(report).toMatchObject({ clean: false, opensCleanly: false, findings: [], lastSequence: sequence });
    expect(report.replay).toMatchObject({ ok: false, code: "WAL_CORRUPT" });
    expect(report.replay.message).toContain(`record ${sequence} (runStateTransition)`);
    expect(jsonError(verify)).toMatchObject({ code: "WAL_CORRUPT" });

    const text = await cli(["wal", "verify", "--data-dir", dataDir]);
    expect(text.code).toBe(4);
    expect(text.stdout).toMatch(/^replay\s+refused$/m);
    expect(text.stdout).toMatch(/^status\s+damaged$/m);
    expect(text.stdout).toContain("restore from a backup");
    // No repair mode cuts a well-formed record.
    const repair = await cli(["wal", "repair", "--truncate-partial", "--json", "--data-dir", dataDir]);
    expect(JSON.parse(repair.stdout)).toMatchObject({ removed: [] });
    expect(hashTree(dataDir)).toBe(before);
  });

  it("finds appended garbage; the next run removes it by itself", async () => {
    const { dataDir, records } = await populated();
    const last = records.at(-1)!;
    const size = statSync(last.file).size;
    appendFileSync(last.file, Buffer.from([0x13, 0x37, 0xde, 0xad, 0xbe]));
    const before = hashTree(dataDir);

    const verify = await cli(["wal", "verify", "--json", "--data-dir", dataDir]);
    expect(verify.code).toBe(4);
    const report = JSON.parse(verify.stdout);
    expect(report.clean).toBe(false);
    expect(report.opensCleanly).toBe(true);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ file: last.file, offset: size, repair: "automatic", repairedByNextOpen: true });
    expect(jsonError(verify)).toMatchObject({ code: "WAL_DAMAGED" });
    expect(jsonError(verify).message).toContain(`${last.file} at offset ${size}`);

    const text = await cli(["wal", "verify", "--data-dir", dataDir]);
    expect(text.code).toBe(4);
    expect(text.stdout).toContain("removes it by itself");
    expect(text.stderr).toMatch(/^error: WAL damage in .* at offset \d+/);
    expect(hashTree(dataDir)).toBe(before);

    const run = await cli(["run", "--handler", "handlers.mjs", "--until-idle", "--json", "--data-dir", dataDir]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ runsCompleted: 3 });
    expect((await cli(["wal", "verify", "--data-dir", dataDir])).code).toBe(0);
  });

  it("finds a cut last record; the next run removes it by itself", async () => {
    const { dataDir, records } = await populated();
    const last = records.at(-1)!;
    const size = statSync(last.file).size;
    truncateSync(last.file, size - 3);

    const verify = await cli(["wal", "verify", "--json", "--data-dir", dataDir]);
    expect(verify.code).toBe(4);
    const finding = JSON.parse(verify.stdout).findings[0];
    expect(finding).toMatchObject({ file: last.file, repair: "automatic" });
    expect(finding.offset).toBeLessThanOrEqual(last.offset);

    const run = await cli(["run", "--handler", "handlers.mjs", "--until-idle", "--data-dir", dataDir]);
    expect(run.code, run.stderr).toBe(0);
    expect((await cli(["wal", "verify", "--data-dir", dataDir])).code).toBe(0);
    const { json: stats } = await cliJson(["stats", "--data-dir", dataDir]);
    // The torn submission was never acknowledged: it is gone, the others ran.
    expect(stats.tasks).toBe(2);
    expect(stats.runsByState.completed).toBe(2);
  });
});

describe.concurrent("a damaged final record", () => {
  it("is refused by run until wal repair --truncate-partial drops it", async () => {
    const { dataDir, records } = await populated();
    const last = records.at(-1)!;
    flipByte(last.file, last.offset + Math.floor((statSync(last.file).size - last.offset) / 2) + 4);
    const damaged = hashTree(dataDir);

    const verify = await cli(["wal", "verify", "--json", "--data-dir", dataDir]);
    expect(verify.code).toBe(4);
    const finding = JSON.parse(verify.stdout).findings[0];
    expect(finding).toMatchObject({ file: last.file, repair: "truncatePartial", repairedByNextOpen: false });
    const text = await cli(["wal", "verify", "--data-dir", dataDir]);
    expect(text.stdout).toContain("wal repair --truncate-partial");

    const refused = await cli(["run", "--handler", "handlers.mjs", "--until-idle", "--json", "--data-dir", dataDir]);
    expect(refused.code).toBe(4);
    expect(jsonError(refused).message).toContain(last.file);
    expect(jsonError(refused).message).toContain(`offset ${finding.offset}`);
    expect(hashTree(dataDir)).toBe(damaged);

    const plain = await cli(["wal", "repair", "--json", "--data-dir", dataDir]);
    expect(plain.code).toBe(4);
    expect(hashTree(dataDir)).toBe(damaged);

    const repaired = await cliJson(["wal", "repair", "--truncate-partial", "--data-dir", dataDir]);
    expect(repaired.json.removed).toHaveLength(1);
    // The cut is at the start of the damaged record's batch, exactly as verify announced.
    expect(finding.truncateAt).toBeLessThanOrEqual(finding.offset);
    expect(repaired.json.removed[0]).toMatchObject({ file: last.file, offset: finding.truncateAt, bytesRemoved: finding.bytesRemovedByRepair, deletedFile: false });
    expect(statSync(last.file).size).toBe(finding.truncateAt);

    expect((await cli(["wal", "verify", "--data-dir", dataDir])).code).toBe(0);
    const run = await cli(["run", "--handler", "handlers.mjs", "--until-idle", "--json", "--data-dir", dataDir]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).runsCompleted).toBe(2);

    const again = await cli(["wal", "repair", "--truncate-partial", "--data-dir", dataDir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to repair");
  });

  it("damage followed by valid records is never cut", async () => {
    const { dataDir, records } = await populated();
    const first = records[0]!;
    flipByte(first.file, first.offset + 20);
    const damaged = hashTree(dataDir);

    const verify = await cli(["wal", "verify", "--json", "--data-dir", dataDir]);
    expect(verify.code).toBe(4);
    expect(JSON.parse(verify.stdout).findings[0]).toMatchObject({ file: first.file, repair: "none" });

    const refused = await cli(["wal", "repair", "--truncate-partial", "--json", "--data-dir", dataDir]);
    expect(refused.code).toBe(4);
    expect(jsonError(refused).message).toContain(first.file);
    expect(hashTree(dataDir)).toBe(damaged);
  });
});
