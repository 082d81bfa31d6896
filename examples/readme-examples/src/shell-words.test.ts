import { describe, expect, it } from "vitest";
import { logicalLines, shellWords } from "./shell-words.js";

describe("shellWords", () => {
  it("splits on blanks, groups quotes and drops a trailing comment", () => {
    expect(shellWords(`actionqueue submit --run-policy 'cron:0 9 * * 1' --payload-json '{"to":"a@b"}'   # weekly`)).toEqual([
      "actionqueue",
      "submit",
      "--run-policy",
      "cron:0 9 * * 1",
      "--payload-json",
      '{"to":"a@b"}',
    ]);
  });

  it("keeps a # inside a word or quotes, and reads escapes", () => {
    expect(shellWords(`echo a#b "c # d" e\\ f "g\\"h"`)).toEqual(["echo", "a#b", "c # d", "e f", 'g"h']);
  });

  it("refuses an unterminated quote", () => {
    expect(() => shellWords(`echo 'open`)).toThrow(/unterminated ' quote/);
  });
});

describe("logicalLines", () => {
  it("joins backslash continuations and keeps each line's offset", () => {
    expect(logicalLines("a \\\n  b\nc")).toEqual([
      { offset: 0, text: "a    b" },
      { offset: 2, text: "c" },
    ]);
  });
});
