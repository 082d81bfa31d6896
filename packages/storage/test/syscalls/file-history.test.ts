import { describe, expect, it } from "vitest";
import { FileHistory, unmetBefore } from "./file-history.js";
import { parseStraceLog } from "./strace-log.js";

/** A log line of thread 1 at `ms` milliseconds, taking `durationUs`. */
function call(ms: number, text: string, durationUs = 100): string {
  return `1 1000.${String(ms * 1000).padStart(6, "0")} ${text} <0.${String(durationUs).padStart(6, "0")}>`;
}

// A segment opened with O_DSYNC (header, zero fill, then data over the
// zeros), a snapshot-like file written plainly and fsync'd, directories made
// and fsync'd, and descriptor 18 reused after a close.
const LOG = [
  call(1, 'mkdir("/d/wal", 0777) = 0'),
  call(2, 'openat(AT_FDCWD</w>, "/d", O_RDONLY|O_CLOEXEC) = 17</d>'),
  call(3, "fsync(17</d>) = 0"),
  call(4, 'openat(AT_FDCWD</w>, "/d/wal/1.wal", O_WRONLY|O_CREAT|O_EXCL|O_DSYNC|O_CLOEXEC, 0666) = 18</d/wal/1.wal>'),
  call(5, 'pwrite64(18</d/wal/1.wal>, "AQTSWAL\\0"..., 32, 0) = 32'),
  call(6, 'pwrite64(18</d/wal/1.wal>, "\\0\\0"..., 8160, 32) = 8160'),
  call(7, 'openat(AT_FDCWD</w>, "/d/wal", O_RDONLY|O_CLOEXEC) = 19</d/wal>'),
  call(8, "fsync(19</d/wal>) = 0"),
  call(9, 'pwrite64(18</d/wal/1.wal>, "\\1\\2"..., 168, 32) = 168'),
  call(10, "close(18</d/wal/1.wal>) = 0"),
  call(11, 'openat(AT_FDCWD</w>, "/d/s.tmp", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 18</d/s.tmp>'),
  call(12, "fdatasync(18</d/s.tmp>) = 0", 5000),
  call(13, 'pwrite64(18</d/s.tmp>, "S"..., 100, 0) = 100'),
  call(14, "fsync(18</d/s.tmp>) = 0"),
  call(15, 'rename("/d/s.tmp", "/d/s") = 0'),
  call(16, "fsync(17</d>) = 0"),
  "",
].join("\n");

describe("FileHistory", () => {
  const log = parseStraceLog(LOG);
  const history = new FileHistory(log);
  const at = (ms: number, durationUs = 100): number => 1000_000_000 + ms * 1000 + durationUs;
  const line = (n: number) => log.calls[n - 1]!;

  it("takes the bytes from the write that set them last: an O_DSYNC write is durable when it returns", () => {
    const requirements = history.bytesDurable("/d/wal/1.wal", 0, 200);
    expect(requirements.map((r) => [r.what.split(" of ")[0], r.atUs])).toEqual([
      ["bytes 0..32", at(5)],
      ["bytes 32..200", at(9)],
    ]);
    // The zero fill still holds the bytes after the data.
    expect(history.bytesDurable("/d/wal/1.wal", 200, 300)[0]!.atUs).toBe(at(6));
  });

  it("makes a plain write durable at the first sync of its file that started after it returned", () => {
    // The fdatasync at 12 ms started before the write (and ended after it): it does not count.
    expect(history.bytesDurable("/d/s.tmp", 0, 100).map((r) => r.atUs)).toEqual([at(14)]);
  });

  it("reports bytes no write set as never durable", () => {
    const [, gap] = history.bytesDurable("/d/s.tmp", 0, 150);
    expect(gap).toMatchObject({ what: expect.stringContaining("bytes 100..150"), atUs: undefined });
  });

  it("follows a descriptor reused after close", () => {
    expect(history.writes.map((w) => w.file.path)).toEqual(["/d/wal/1.wal", "/d/wal/1.wal", "/d/wal/1.wal", "/d/s.tmp"]);
  });

  it("refuses to place a write made at the file position", () => {
    const plain = new FileHistory(parseStraceLog([call(1, 'openat(AT_FDCWD</w>, "/d/f", O_WRONLY|O_CREAT, 0666) = 3</d/f>'), call(2, 'write(3</d/f>, "x", 1) = 1')].join("\n")));
    expect(plain.writes[0]!.offset).toBeUndefined();
    expect(() => plain.bytesDurable("/d/f", 0, 1)).toThrow(/file position/);
  });

  it("makes a new entry durable at the next fsync of its directory, and its directory's entry too", () => {
    // The segment's entry by the fsync of /d/wal, the entry of /d/wal (made by mkdir) by the first fsync of /d; /d itself was not made in the log.
    expect(history.entryDurable("/d/wal/1.wal").map((r) => r.atUs)).toEqual([at(8), at(3)]);
    // A rename makes an entry too; the fsync of /d at 3 ms came before it and does not count.
    expect(history.entryDurable("/d/s").map((r) => r.atUs)).toEqual([at(16)]);
    expect(history.renamedFrom("/d/s")).toBe("/d/s.tmp");
    expect(history.entryDurable("/d/missing")).toEqual([]);
  });

  it("lists what was not durable before a deadline, or before an earlier deadline of its own", () => {
    const bytes = history.bytesDurable("/d/s.tmp", 0, 100);
    expect(unmetBefore(bytes, line(15))).toEqual([]);
    expect(unmetBefore(bytes, line(14))).toHaveLength(1);
    expect(unmetBefore([{ ...bytes[0]!, mustPrecede: line(13) }], line(16))).toHaveLength(1);
  });
});
