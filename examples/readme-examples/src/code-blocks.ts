/** One fenced code block of a Markdown document. */
export interface CodeBlock {
  /** The fence's info string's first word (`ts`, `sh`, …), or `""`. */
  readonly lang: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The block's text, without the fences, ending in a newline. */
  readonly code: string;
}

/**
 * The fenced code blocks (```` ``` ```` or `~~~`, three or more) of a
 * Markdown document, in order. A block left open runs to the end of the
 * document, as CommonMark reads it.
 */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split(/\r?\n/);
  let open: { fence: string; lang: string; line: number; body: string[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (open === undefined) {
      const start = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(text);
      if (start !== null) open = { fence: start[1]!, lang: start[2]!.toLowerCase(), line: i + 1, body: [] };
      continue;
    }
    const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(text);
    if (close !== null && close[1]![0] === open.fence[0] && close[1]!.length >= open.fence.length) {
      blocks.push({ lang: open.lang, line: open.line, code: open.body.map((l) => `${l}\n`).join("") });
      open = undefined;
    } else {
      open.body.push(text);
    }
  }
  if (open !== undefined) blocks.push({ lang: open.lang, line: open.line, code: open.body.map((l) => `${l}\n`).join("") });
  return blocks;
}
