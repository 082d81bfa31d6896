/**
 * "Acknowledged ⇒ durable", shown at the system-call level rather than from
 * the writer's own counters. A child process (syscalls/ack-child.mjs, the
 * built package) runs under strace, submits commands with `immediate`
 * durability in overlapping bursts across several segment rotations and a
 * snapshot, and prints `ack <sequence>` with a synchronous write(2) the
 * moment each promise resolves. From the trace and the final WAL files the
 * test then checks, for every acknowledgement, that every byte of the log up
 * to that record had been written with its final content by a call that had
 * returned and was durable (`O_DSYNC`, or an fsync/fdatasync of the file
 * that started after the write returned) before the acknowledging write(2)
 * started, and that every segment's directory entry had been fsync'd; and
 * the same for the snapshot's bytes (before its rename) and entry before
 * `snapshot done`. Only the order of calls is compared, never durations.
 *
 * The child runs the built package: `pnpm test` builds first (turbo);
 * after editing src, run `pnpm build` before `npx vitest run` here.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { scanWal } from "@actionqueue/storage";
import type { WalSyncMode } from "@actionqueue/storage";
import { removeDir, tempDir } from "./helpers.js";
import { parseQuoted, parseStraceLog } from "./syscalls/strace-log.js";
import type { StraceLog, Syscall } from "./syscalls/strace-log.js";
import { FileHistory, describeUnmet, unmetBefore } from "./syscalls/file-history.js";
import type { Requirement } from "./syscalls/file-history.js";
import { recordRequirements, snapshotRequirements } from "./syscalls/ack-requirements.js";
import type { WalLayout } from "./syscalls/ack-requirements.js";

const STRACE = "/usr/bin/strace";
/**
 * The strace command is `strace <these flags> -o <log> node ack-child.mjs ...`:
 * - -f: the libuv thread pool does the file I/O, on other threads;
 * - -ttt -T: entry time and time spent, so a call's end is start + duration.
 *   strace reads the entry time before decoding the arguments and the exit
 *   time as it handles the exit stop, before it lets the thread go on: a
 *   call's computed end is never after the moment anything caused by its
 *   return could start, so a correct order can never look reversed (a
 *   reversed one may be masked by a few microseconds at most);
 * - -y: descriptors with their paths, a returned one too, so files are
 *   known by absolute path;
 * - -s 32: whole stdout lines (the longest, `snapshot done`, is 14 bytes);
 * - -qq: no attach or exit notices; flags stay symbolic (no -X raw), so
 *   `O_DSYNC` reads as such.
 * Only these calls are logged: everything that makes, writes or syncs a file
 * or directory entry in the data directory (ftruncate, which cuts the zero
 * fill off a segment, is checked through the final files instead).
 */
const STRACE_FLAGS = [
  "-f",
  "-ttt",
  "-T",
  "-y",
  "-qq",
  "-s",
  "32",
  "-e",
  "trace=openat,close,mkdir,mkdirat,rename,renameat,renameat2,pwrite64,pwritev,pwritev2,write,writev,fsync,fdatasync",
];
const CHILD = fileURLToPath(new URL("./syscalls/ack-child.mjs", import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
/** Small segments: several rotations, so new files and directory fsyncs happen while acks are pending. */
const SEGMENT_BYTES = 8 * 1024;
/** Submitters per burst (three commands each): small group commits, and large ones that start eager cycles and get sealed. */
const BURSTS = [20, 40, 100, 20, 40, 100];
const COMMANDS = 3 * BURSTS.reduce((sum, n) => sum + n, 0);

/** Why strace cannot trace a child here with these flags (not installed, ptrace refused, too old), or undefined when it can. */
function straceUnusable(): string | undefined {
  const probe = spawnSync(STRACE, [...STRACE_FLAGS, "-o", "/dev/null", process.execPath, "-e", "0"], { encoding: "utf8" });
  if (probe.error !== undefined) return `${STRACE} cannot run: ${probe.error.message}`;
  if (probe.status !== 0) return `${STRACE} cannot trace a child (ptrace not permitted?): ${probe.stderr.trim()}`;
  return undefined;
}

/**
 * Why dist/ was not built from the current sources (the child runs dist), or
 * undefined when it was. tsc -b records a SHA-256 of every source it built
 * in dist/.tsbuildinfo; comparing contents, not times, keeps a touched but
 * unchanged file from counting as a change.
 */
function staleBuild(): string | undefined {
  const infoFile = join(PACKAGE_DIR, "dist", ".tsbuildinfo");
  if (!existsSync(infoFile)) return "dist/ is not built: run `pnpm build` first";
  const info = JSON.parse(readFileSync(infoFile, "utf8")) as { fileNames?: string[]; fileInfos?: (string | { version?: string })[] };
  let sources = 0;
  for (const [index, name] of (info.fileNames ?? []).entries()) {
    if (!name.startsWith("../src/")) continue;
    const entry = info.fileInfos?.[index];
    const version = typeof entry === "string" ? entry : entry?.version;
    const source = join(PACKAGE_DIR, name.slice(3));
    if (!existsSync(source)) return `dist/ includes ${name.slice(3)}, which no longer exists: run \`pnpm build\` first`;
    if (version !== createHash("sha256").update(readFileSync(source)).digest("hex")) return `dist/ was built from another version of ${name.slice(3)}: run \`pnpm build\` first`;
    sources++;
  }
  return sources > 0 ? undefined : "dist/.tsbuildinfo names no sources (a new format?): cannot tell whether dist/ is current";
}

/** Runs the child under strace with its stdout in a file (so each ack is a plain write(2)); rejects unless it exits with 0. */
async function traceChild(dir: string, dataDir: string, mode: WalSyncMode): Promise<{ log: string; stdout: string }> {
  const logFile = join(dir, "strace.log");
  const stdoutFile = join(dir, "stdout.txt");
  const stdout = openSync(stdoutFile, "w");
  const args = [...STRACE_FLAGS, "-o", logFile, process.execPath, CHILD, dataDir, mode, String(SEGMENT_BYTES), BURSTS.join(",")];
  // UV_USE_IO_URING=0: file I/O through io_uring would not show as system calls.
  const child = spawn(STRACE, args, { cwd: PACKAGE_DIR, stdio: ["ignore", stdout, "pipe"], env: { ...process.env, UV_USE_IO_URING: "0" } });
  closeSync(stdout);
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => child.once("error", reject).once("exit", resolve));
  if (code !== 0) throw new Error(`strace ${args.join(" ")} exited with ${code}: ${stderr}`);
  return { log: readFileSync(logFile, "utf8"), stdout: readFileSync(stdoutFile, "utf8") };
}

/** The child's stdout lines, each with the write(2) that printed it. */
function printedLines(log: StraceLog): { text: string; call: Syscall }[] {
  return log.calls
    .filter((c) => c.name === "write" && /^1(<|$)/.test(c.args[0] ?? ""))
    .map((call) => {
      const { bytes, truncated } = parseQuoted(call.args[1] ?? "");
      if (truncated) throw new Error(`strace cut a stdout line short (raise -s): ${call.text}`);
      return { text: bytes.toString("utf8"), call };
    });
}

/**
 * Every record's segment and byte range, from the final WAL files: frames
 * lie back to back, so a record ends where the next one in its segment
 * starts, or where the segment's valid data ends.
 */
function readLayout(walDir: string): WalLayout {
  const found: { sequence: number; file: string; start: number }[] = [];
  const scan = scanWal(walDir, { onRecord: (r) => found.push({ sequence: r.sequence, file: r.file, start: r.offset }) });
  expect(scan.findings).toEqual([]);
  const records = new Map<number, { file: string; start: number; end: number }>();
  found.forEach((record, i) => {
    const next = found[i + 1];
    const end = next?.file === record.file ? next.start : scan.segments.find((s) => s.file === record.file)!.validEnd;
    records.set(record.sequence, { ...record, end });
  });
  return { segments: scan.segments, records };
}

/** A failure message: what `ack` (a line the child printed) came before, with the log lines that show it. */
function describeEarlyAck(label: string, ack: Syscall, unmet: readonly Requirement[]): string {
  return `${label} (log line ${ack.line}) came before:\n${unmet
    .slice(0, 3)
    .map((r) => describeUnmet(r, ack))
    .join("\n")}`;
}

/**
 * The snapshot's requirements: its bytes and entry before `snapshot done`,
 * and the WAL up to the sequence it covers before its rename (a snapshot
 * ahead of the durable log would make the next open refuse the directory).
 */
function snapshotChecks(history: FileHistory, layout: WalLayout, snapshotDir: string): Requirement[] {
  const names = readdirSync(snapshotDir).filter((name) => name.endsWith(".snap"));
  expect(names).toHaveLength(1);
  const file = join(snapshotDir, names[0]!);
  const rename = history.createdBy(file);
  const covered = recordRequirements(history, layout, Number(names[0]!.slice(0, 20)));
  return [...snapshotRequirements(history, file, statSync(file).size), ...covered.map((r) => (rename === undefined ? r : { ...r, mustPrecede: rename }))];
}

const unusable = straceUnusable();
if (unusable !== undefined) console.warn(`ack-after-sync: skipped, ${unusable}`);

describe.skipIf(unusable !== undefined)("acknowledged ⇒ durable, from the system calls (strace)", () => {
  it.each(["writeThrough", "fdatasync"] as const)("%s: every ack follows the durable write of its record, every new file its directory fsync", async (mode) => {
    const stale = staleBuild();
    expect(stale, stale).toBeUndefined();
    const dir = realpathSync(tempDir());
    let passed = false;
    try {
      const dataDir = join(dir, "data");
      const walDir = join(dataDir, "wal");
      const snapshotDir = join(dataDir, "snapshots");
      const { log: logText, stdout } = await traceChild(dir, dataDir, mode);
      const log = parseStraceLog(logText);
      const history = new FileHistory(log);
      const printed = printedLines(log);
      // The trace shows every line the child printed, in order: nothing was missed.
      expect(printed.map((p) => p.text).join("")).toBe(stdout);

      // Every command was acknowledged once, and the WAL holds exactly those records.
      const layout = readLayout(walDir);
      const acks = printed.flatMap((p) => {
        const match = /^ack (\d+)\n$/.exec(p.text);
        return match === null ? [] : [{ sequence: Number(match[1]), call: p.call }];
      });
      const sequences = Array.from({ length: COMMANDS }, (_, i) => i + 1);
      expect(acks.map((a) => a.sequence).sort((a, b) => a - b)).toEqual(sequences);
      expect([...layout.records.keys()]).toEqual(sequences);
      expect(layout.segments.length, "segment rotations").toBeGreaterThanOrEqual(3);
      const snapshotDone = printed.filter((p) => p.text === "snapshot done\n");
      expect(snapshotDone).toHaveLength(1);

      // The mode really is the one asked for: O_DSYNC on every segment opened for writing, or on none.
      const segmentOpens = history.opens.filter((o) => o.path.startsWith(`${walDir}/`) && !o.flags.includes("O_RDONLY"));
      const dsyncOpens = segmentOpens.filter((o) => o.flags.includes("O_DSYNC"));
      expect(segmentOpens.length).toBeGreaterThanOrEqual(layout.segments.length);
      expect(dsyncOpens.length, `${mode}: segment opens for writing with O_DSYNC, of ${segmentOpens.length}`).toBe(mode === "writeThrough" ? segmentOpens.length : 0);
      const walWrites = history.writes.filter((w) => w.file.path.startsWith(`${walDir}/`));
      const walSyncs = history.syncs.filter((s) => s.file.path.startsWith(`${walDir}/`) && s.call.name === "fdatasync");
      expect(walWrites.length, "WAL writes in the trace (none: is file I/O going through io_uring?)").toBeGreaterThan(0);
      if (mode === "fdatasync") expect(walSyncs.length).toBeGreaterThan(0);

      const failures: string[] = [];
      for (const ack of acks) {
        const unmet = unmetBefore(recordRequirements(history, layout, ack.sequence), ack.call);
        if (unmet.length > 0) failures.push(describeEarlyAck(`ack ${ack.sequence}`, ack.call, unmet));
      }
      const done = snapshotDone[0]!.call;
      const snapshotUnmet = unmetBefore(snapshotChecks(history, layout, snapshotDir), done);
      if (snapshotUnmet.length > 0) failures.push(describeEarlyAck("snapshot done", done, snapshotUnmet));

      const dirFsyncs = [dataDir, walDir, snapshotDir].map((d) => history.syncsOf(d, new Set(["fsync"])).length);
      console.info(
        `ack-after-sync [${mode}]: ${acks.length} acks and 1 snapshot checked against ${walWrites.length} WAL writes ` +
          `(${dsyncOpens.length}/${segmentOpens.length} segment opens with O_DSYNC), ${walSyncs.length} WAL fdatasyncs, ` +
          `${layout.segments.length} segments, directory fsyncs: data ${dirFsyncs[0]}, wal ${dirFsyncs[1]}, snapshots ${dirFsyncs[2]}`,
      );
      expect(failures.length, `${failures.length} acknowledgement(s) came before what they acknowledge was durable; the first ones:\n\n${failures.slice(0, 3).join("\n\n")}\n`).toBe(0);
      passed = true;
    } finally {
      if (passed) removeDir(dir);
      else console.error(`ack-after-sync [${mode}]: kept ${dir} (strace.log, stdout.txt, data/) for inspection`);
    }
  }, 60_000);
});
