import { describe, expect, it } from "vitest";
import { integerArg, parseFd, parseQuoted, parseStraceLog, returnValue, splitTopLevel, toMicroseconds } from "./strace-log.js";

// Lines as strace 6.1 prints them with -f -ttt -T -y -s 64.
const LOG = [
  '100 1795799039.752678 openat(AT_FDCWD</work/a, b>, "/tmp/d/wal/1.wal", O_WRONLY|O_CREAT|O_EXCL|O_DSYNC|O_CLOEXEC, 0666) = 18</tmp/d/wal/1.wal> <0.000183>',
  '101 1795799039.885088 fdatasync(18</tmp/d/wal/1.wal> <unfinished ...>',
  '102 1795799039.885142 pwrite64(18</tmp/d/wal/1.wal>, "T*R\\226\\247\\1\\0\\0,)\\"x"..., 1125, 32) = 1125 <0.000104>',
  "100 1795799039.886000 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---",
  "101 1795799039.886316 <... fdatasync resumed>) = 0 <0.001249>",
  '100 1795799039.887000 write(1</tmp/d/stdout.txt>, "ack 7\\n", 6) = 6 <0.000010>',
  '103 1795799039.888000 pwritev(19</tmp/x>, [{iov_base="a,b", iov_len=3}, {iov_base="}]", iov_len=2}], 2, 4096) = 5 <0.000020>',
  '100 1795799039.889000 openat(AT_FDCWD</w>, "/nope", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory) <0.000011>',
  "104 1795799039.890000 fsync(20</tmp/d> <unfinished ...>",
  "",
].join("\n");

describe("parseStraceLog", () => {
  const log = parseStraceLog(LOG);

  it("reads thread, name, arguments, result and times of one-line calls", () => {
    const open = log.calls[0]!;
    expect(open).toMatchObject({ tid: 100, name: "openat", line: 1, result: "18</tmp/d/wal/1.wal>" });
    expect(open.args).toEqual(["AT_FDCWD</work/a, b>", '"/tmp/d/wal/1.wal"', "O_WRONLY|O_CREAT|O_EXCL|O_DSYNC|O_CLOEXEC", "0666"]);
    expect(open.startUs).toBe(1795799039_752678);
    expect(open.endUs).toBe(1795799039_752678 + 183);
    expect(parseFd(open.result)).toEqual({ fd: 18, path: "/tmp/d/wal/1.wal" });
  });

  it("joins an unfinished call with its resumed line: start from the first, end = start + duration, placed where it started", () => {
    const sync = log.calls[1]!;
    expect(sync).toMatchObject({ tid: 101, name: "fdatasync", line: 2, args: ["18</tmp/d/wal/1.wal>"], result: "0" });
    expect(sync.startUs).toBe(1795799039_885088);
    expect(sync.endUs).toBe(1795799039_885088 + 1249);
    expect(sync.text.split("\n")).toHaveLength(2);
    expect(log.calls.map((c) => c.line)).toEqual([1, 2, 3, 6, 7, 8]);
  });

  it("keeps strings with commas, parentheses and quotes whole, and reads positional arguments", () => {
    const write = log.calls[2]!;
    expect(write.args).toHaveLength(4);
    expect(integerArg(write, 3)).toBe(32);
    expect(returnValue(write)).toBe(1125);
    const vector = log.calls[4]!;
    expect(vector.args).toEqual(["19</tmp/x>", '[{iov_base="a,b", iov_len=3}, {iov_base="}]", iov_len=2}]', "2", "4096"]);
    expect(integerArg(vector, 3)).toBe(4096);
  });

  it("gives -1 for a failed call and lists calls that never returned", () => {
    expect(returnValue(log.calls[5]!)).toBe(-1);
    expect(log.unfinished).toEqual([{ tid: 104, name: "fsync", line: 9, text: "104 1795799039.890000 fsync(20</tmp/d> <unfinished ...>" }]);
  });

  it("refuses lines it does not understand, and a resumed call it never saw start", () => {
    expect(() => parseStraceLog("openat(AT_FDCWD, ...) = 3")).toThrow(/no thread id/);
    expect(() => parseStraceLog("1 2.000001 <... write resumed>) = 1 <0.000001>")).toThrow(/no such call unfinished/);
    expect(() => parseStraceLog("1 2.000001 write(1, \"x\", 1) = 1")).toThrow(/-T/);
  });
});

describe("strace value helpers", () => {
  it("decodes quoted strings with C escapes, and notices strings cut at -s", () => {
    expect(parseQuoted('"ack 7\\n"')).toEqual({ bytes: Buffer.from("ack 7\n"), truncated: false });
    expect(parseQuoted('"\\0\\1\\377\\x41\\"\\\\"').bytes).toEqual(Buffer.from([0, 1, 255, 0x41, 34, 92]));
    expect(parseQuoted('"\\0017"').bytes).toEqual(Buffer.from([1, 0x37]));
    expect(parseQuoted('"abc"...').truncated).toBe(true);
  });

  it("splits at top-level commas only", () => {
    expect(splitTopLevel('1<a,b>, "x,(y", {z, w}, [1, 2]')).toEqual(["1<a,b>", '"x,(y"', "{z, w}", "[1, 2]"]);
    expect(splitTopLevel("")).toEqual([]);
  });

  it("turns -ttt fractions of any length into whole microseconds", () => {
    expect(toMicroseconds("2", "5")).toBe(2_500_000);
    expect(toMicroseconds("2", "000001999")).toBe(2_000_001);
  });
});
