/**
 * The words of one shell command line as a reader would type it: single and
 * double quotes group (and are removed), a backslash escapes the next
 * character outside single quotes, and an unquoted `#` at the start of a word
 * begins a comment. Enough for the command lines of a README; no expansion.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) word += line[++i]!;
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i]!;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (c === "#" && !inWord) {
      break;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new Error(`unterminated ${quote} quote in: ${line}`);
  if (inWord) words.push(word);
  return words;
}

/**
 * The logical lines of a shell snippet: a line ending in a backslash goes on
 * with the next one. Each comes with its 0-based offset in the snippet.
 */
export function logicalLines(snippet: string): Array<{ readonly offset: number; readonly text: string }> {
  const out: Array<{ offset: number; text: string }> = [];
  const lines = snippet.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const offset = i;
    let text = lines[i]!;
    while (/\\\s*$/.test(text) && i + 1 < lines.length) text = `${text.replace(/\\\s*$/, " ")}${lines[++i]!}`;
    out.push({ offset, text });
  }
  return out;
}
