/**
 * What a strace log says about durability, file by file: which file every
 * write went to (and whether it was opened with `O_DSYNC`), when each write
 * became durable, which write last set each byte, and when a new directory
 * entry (a file created or renamed into place, a directory made) became
 * durable. ack-after-sync.test.ts asks it whether each acknowledgement came
 * after everything it acknowledges.
 *
 * The rules are the POSIX/Linux ones the storage package relies on:
 * - a write to a file opened with `O_DSYNC` (or `O_SYNC`) is durable when it
 *   returns; any other write once an fsync or fdatasync of the same file
 *   that started after the write had returned has returned;
 * - a new directory entry is durable once an fsync of its directory that
 *   started after the entry was made has returned, and only if the
 *   directory's own entry is durable too (when the log shows it being made).
 *
 * Files are told apart by the path they were opened under (`-y` prints the
 * absolute path with every returned descriptor); the log is of one process,
 * so every thread shares one descriptor table.
 */
import { dirname, isAbsolute, join } from "node:path";
import type { StraceLog, Syscall } from "./strace-log.js";
import { integerArg, parseFd, parseQuoted, returnValue } from "./strace-log.js";

/** A descriptor from its `openat` until its `close` (microseconds; `untilUs` undefined: never closed). */
export interface OpenFile {
  readonly fd: number;
  readonly path: string;
  /** Symbolic open flags (`O_WRONLY`, `O_DSYNC`, ...); strace prints them unless run with `-X raw`. */
  readonly flags: readonly string[];
  readonly opened: Syscall;
  readonly fromUs: number;
  untilUs: number | undefined;
}

/** A successful write to an open file; `offset` undefined for `write`/`writev`, which use the file position. */
export interface FileWrite {
  readonly call: Syscall;
  readonly file: OpenFile;
  readonly offset: number | undefined;
  readonly bytes: number;
}

/**
 * Something that must be durable by a deadline: `atUs` is when it was
 * (undefined: never, per the log), `evidence` the calls that show it.
 * `mustPrecede`, when set, is an earlier deadline than the caller's (a
 * snapshot's bytes must be durable before its rename starts).
 */
export interface Requirement {
  readonly what: string;
  readonly atUs: number | undefined;
  readonly evidence: readonly Syscall[];
  readonly mustPrecede?: Syscall;
}

const WRITES = new Set(["pwrite64", "pwritev", "pwritev2", "write", "writev"]);
const POSITIONED = new Set(["pwrite64", "pwritev", "pwritev2"]);
const SYNCS = new Set(["fsync", "fdatasync"]);

/** A byte range of a file and the write that last set it. */
interface Piece {
  readonly from: number;
  readonly to: number;
  readonly write: FileWrite;
}

/** The log's file activity, indexed for the durability questions below. */
export class FileHistory {
  readonly opens: readonly OpenFile[];
  readonly writes: readonly FileWrite[];
  /** Successful fsync and fdatasync calls, with the file each was on. */
  readonly syncs: readonly { readonly call: Syscall; readonly file: OpenFile }[];
  /** The last call that made each path (`openat` with `O_CREAT`, a rename onto it, `mkdir`). */
  readonly #created = new Map<string, Syscall>();
  /** The path each rename target had before (the last rename onto it). */
  readonly #renamedFrom = new Map<string, string>();
  readonly #pieces = new Map<string, Piece[]>();

  constructor(log: StraceLog) {
    const opens: OpenFile[] = [];
    const byFd = new Map<number, OpenFile[]>();
    for (const call of log.calls) {
      if (call.name !== "openat" || (returnValue(call) ?? -1) < 0) continue;
      const fd = parseFd(call.result)!;
      const path = fd.path ?? pathArg(call, 0, 1);
      const file: OpenFile = { fd: fd.fd, path, flags: (call.args[2] ?? "").split("|"), opened: call, fromUs: call.endUs, untilUs: undefined };
      opens.push(file);
      byFd.set(fd.fd, [...(byFd.get(fd.fd) ?? []), file]);
      if (file.flags.includes("O_CREAT")) this.#created.set(path, call);
    }
    // A close ends the newest open of its descriptor that had returned when the close started.
    for (const call of log.calls) {
      if (call.name !== "close" || returnValue(call) !== 0) continue;
      const candidates = byFd.get(parseFd(call.args[0] ?? "")?.fd ?? -1) ?? [];
      const file = candidates.filter((f) => f.fromUs <= call.startUs && f.untilUs === undefined).at(-1);
      if (file !== undefined) file.untilUs = call.startUs;
    }
    const fileAt = (fdText: string | undefined, atUs: number): OpenFile | undefined => {
      const fd = parseFd(fdText ?? "")?.fd;
      return byFd.get(fd ?? -1)?.find((f) => f.fromUs <= atUs && (f.untilUs === undefined || atUs < f.untilUs));
    };
    const writes: FileWrite[] = [];
    const syncs: { call: Syscall; file: OpenFile }[] = [];
    for (const call of log.calls) {
      const value = returnValue(call);
      if (value === undefined || value < 0) continue;
      if (WRITES.has(call.name) && value > 0) {
        const file = fileAt(call.args[0], call.startUs);
        if (file !== undefined) writes.push({ call, file, offset: POSITIONED.has(call.name) ? integerArg(call, 3) : undefined, bytes: value });
      } else if (SYNCS.has(call.name)) {
        const file = fileAt(call.args[0], call.startUs);
        if (file !== undefined) syncs.push({ call, file });
      } else if (call.name === "rename") {
        this.#renamed(call, pathArg(call, undefined, 0), pathArg(call, undefined, 1));
      } else if (call.name === "renameat" || call.name === "renameat2") {
        this.#renamed(call, pathArg(call, 0, 1), pathArg(call, 2, 3));
      } else if (call.name === "mkdir") {
        this.#created.set(pathArg(call, undefined, 0), call);
      } else if (call.name === "mkdirat") {
        this.#created.set(pathArg(call, 0, 1), call);
      }
    }
    this.opens = opens;
    this.writes = writes;
    this.syncs = syncs;
  }

  #renamed(call: Syscall, from: string, to: string): void {
    this.#created.set(to, call);
    this.#renamedFrom.set(to, from);
  }

  /** The path `path` had before the last rename onto it, if the log shows one. */
  renamedFrom(path: string): string | undefined {
    return this.#renamedFrom.get(path);
  }

  /** The call that made `path` in the log (the last one, if several did), if any. */
  createdBy(path: string): Syscall | undefined {
    return this.#created.get(path);
  }

  /** Successful fsync/fdatasync calls on `path` (opened under that name). */
  syncsOf(path: string, names: ReadonlySet<string> = SYNCS): { readonly call: Syscall; readonly file: OpenFile }[] {
    return this.syncs.filter((s) => s.file.path === path && names.has(s.call.name));
  }

  /** When `write` was durable: at its return with `O_DSYNC`/`O_SYNC`, else when the first fsync/fdatasync of its file started after it returned. */
  writeDurable(write: FileWrite): { atUs: number | undefined; evidence: Syscall[] } {
    if (write.file.flags.includes("O_DSYNC") || write.file.flags.includes("O_SYNC")) return { atUs: write.call.endUs, evidence: [write.call] };
    const sync = this.syncsOf(write.file.path)
      .filter((s) => s.call.startUs >= write.call.endUs)
      .sort((a, b) => a.call.endUs - b.call.endUs)[0];
    return sync === undefined ? { atUs: undefined, evidence: [write.call] } : { atUs: sync.call.endUs, evidence: [write.call, sync.call] };
  }

  /**
   * Bytes `[from, to)` of `path` are durable with the content they were last
   * written with: one requirement per run of bytes the same write set last.
   * A byte no write set is a requirement never met (the file's content did
   * not come from a write the log shows).
   */
  bytesDurable(path: string, from: number, to: number): Requirement[] {
    const requirements: Requirement[] = [];
    let at = from;
    for (const piece of this.#piecesOf(path)) {
      if (piece.to <= at) continue;
      if (piece.from >= to) break;
      if (piece.from > at) requirements.push({ what: `bytes ${at}..${piece.from} of ${path}, which no write in the log set`, atUs: undefined, evidence: [] });
      const end = Math.min(piece.to, to);
      const durable = this.writeDurable(piece.write);
      const how = durable.evidence.length > 1 ? `, then ${durable.evidence[1]!.name}` : piece.write.file.flags.includes("O_DSYNC") ? " (O_DSYNC)" : "";
      requirements.push({ what: `bytes ${Math.max(at, piece.from)}..${end} of ${path} (${piece.write.call.name}${how})`, atUs: durable.atUs, evidence: durable.evidence });
      at = end;
      if (at >= to) break;
    }
    if (at < to) requirements.push({ what: `bytes ${at}..${to} of ${path}, which no write in the log set`, atUs: undefined, evidence: [] });
    return requirements;
  }

  /**
   * The directory entry of `path` is durable: when the log shows it being
   * made, an fsync of its directory started after that and has returned;
   * the same for the directory's own entry, up to the first directory the
   * log does not show being made.
   */
  entryDurable(path: string): Requirement[] {
    const created = this.#created.get(path);
    if (created === undefined) return [];
    const parent = dirname(path);
    const sync = this.syncsOf(parent, new Set(["fsync"]))
      .filter((s) => s.call.startUs >= created.endUs)
      .sort((a, b) => a.call.endUs - b.call.endUs)[0];
    const requirement: Requirement = {
      what: `the directory entry of ${path} (made by ${created.name}; needs an fsync of ${parent} after it)`,
      atUs: sync?.call.endUs,
      evidence: sync === undefined ? [created] : [created, sync.call],
    };
    return [requirement, ...this.entryDurable(parent)];
  }

  /**
   * Which write last set each byte of `path`: the writes painted over each
   * other in the order they started. Unpositioned writes cannot be placed,
   * so a file that has any is refused rather than guessed at.
   */
  #piecesOf(path: string): readonly Piece[] {
    const cached = this.#pieces.get(path);
    if (cached !== undefined) return cached;
    let pieces: Piece[] = [];
    for (const write of this.writes) {
      if (write.file.path !== path) continue;
      if (write.offset === undefined) throw new Error(`${write.call.name} at log line ${write.call.line} writes ${path} at its file position, which this check cannot place: ${write.call.text}`);
      const from = write.offset;
      const to = from + write.bytes;
      const next: Piece[] = [];
      for (const piece of pieces) {
        if (piece.to <= from || piece.from >= to) next.push(piece);
        else {
          if (piece.from < from) next.push({ ...piece, to: from });
          if (piece.to > to) next.push({ ...piece, from: to });
        }
      }
      next.push({ from, to, write });
      pieces = next.sort((a, b) => a.from - b.from);
    }
    this.#pieces.set(path, pieces);
    return pieces;
  }
}

/** The path argument at `pathIndex`, resolved against the directory descriptor at `dirIndex` (`AT_FDCWD</cwd>` with `-y`) when relative. */
function pathArg(call: Syscall, dirIndex: number | undefined, pathIndex: number): string {
  const path = parseQuoted(call.args[pathIndex] ?? "").bytes.toString("latin1");
  if (isAbsolute(path)) return path;
  const base = dirIndex === undefined ? undefined : /<(.*)>$/.exec(call.args[dirIndex] ?? "")?.[1];
  if (base === undefined) throw new Error(`relative path ${path} at log line ${call.line} and no -y directory to resolve it against: ${call.text}`);
  return join(base, path);
}

/** The requirements in `requirements` not met before `deadline` started (or before their own earlier deadline). */
export function unmetBefore(requirements: readonly Requirement[], deadline: Syscall): Requirement[] {
  return requirements.filter((r) => {
    const limit = Math.min(deadline.startUs, r.mustPrecede?.startUs ?? Number.POSITIVE_INFINITY);
    return r.atUs === undefined || r.atUs > limit;
  });
}

/** A strace time in microseconds as `-ttt` prints it. */
export function formatTime(us: number): string {
  return `${Math.floor(us / 1_000_000)}.${String(us % 1_000_000).padStart(6, "0")}`;
}

/** A requirement that was not met by `deadline`, with the log lines that show it, for a failure message. */
export function describeUnmet(requirement: Requirement, deadline: Syscall): string {
  const when = requirement.atUs === undefined ? "never durable per the log" : `durable only at ${formatTime(requirement.atUs)}`;
  const limit = requirement.mustPrecede ?? deadline;
  const lines = [...requirement.evidence, limit].sort((a, b) => a.line - b.line).map((c) => `    ${c.line}: ${c.text.split("\n").map(shorten).join("\n    ")}`);
  return `  ${requirement.what}: ${when}, but needed before line ${limit.line} (${formatTime(limit.startUs)})\n${lines.join("\n")}`;
}

/** A log line with the buffers strace cut at -s (`"..."...`) cut further: their bytes say nothing here. */
function shorten(line: string): string {
  return line.replace(/"((?:[^"\\]|\\.)*)"\.\.\./g, (whole, body: string) => (body.length <= 16 ? whole : `"${body.slice(0, 16)}"...`));
}
