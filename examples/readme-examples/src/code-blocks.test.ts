import { describe, expect, it } from "vitest";
import { codeBlocks } from "./code-blocks.js";

describe("codeBlocks", () => {
  it("finds each fenced block with its language and line", () => {
    const md = ["# Title", "", "```ts", "const a = 1;", "```", "text", "~~~sh", "echo hi", "~~~", ""].join("\n");
    expect(codeBlocks(md)).toEqual([
      { lang: "ts", line: 3, code: "const a = 1;\n" },
      { lang: "sh", line: 7, code: "echo hi\n" },
    ]);
  });

  it("closes only on a fence of the same kind and at least the same length", () => {
    const md = ["````md", "```ts", "inner", "```", "````"].join("\n");
    expect(codeBlocks(md)).toEqual([{ lang: "md", line: 1, code: "```ts\ninner\n```\n" }]);
  });

  it("reads a block without a language, and one left open to the end", () => {
    expect(codeBlocks("```\nplain\n```\n```js\nopen")).toEqual([
      { lang: "", line: 1, code: "plain\n" },
      { lang: "js", line: 4, code: "open\n" },
    ]);
  });
});
