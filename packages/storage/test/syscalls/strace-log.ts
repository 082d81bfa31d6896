/**
 * A parser for the text log strace writes with `-f -ttt -T -y` (see
 * ack-after-sync.test.ts for the whole command): one record per system call,
 * with the calling thread, start and end time, its arguments split at
 * top-level commas, and its result. A call that another thread's call
 * interrupts in the log is written as an `<unfinished ...>` line and, later,
 * a `<... name resumed>` line; the two are joined here, so the start time is
 * the entry's and the end is that start plus the duration `-T` measured.
 *
 * Only what the durability test needs is decoded: integers, file descriptors
 * with their `-y` path, and quoted strings. Anything else stays raw text.
 */

/** One system call, as strace logged it. */
export interface Syscall {
  /** The calling thread (with `-f`, strace prints the thread id). */
  readonly tid: number;
  readonly name: string;
  /** Arguments as printed, split at top-level commas and trimmed. */
  readonly args: readonly string[];
  /** What follows `= `: `6`, `18</tmp/x>` (a new fd with `-y`), `-1 ENOENT (No such file or directory)`. */
  readonly result: string;
  /** Entry time in microseconds since the epoch (`-ttt`). */
  readonly startUs: number;
  /** Start plus the time spent in the call (`-T`). */
  readonly endUs: number;
  /** 1-based line of the log where the call starts. */
  readonly line: number;
  /** The call as logged: its line, or its unfinished and resumed lines. */
  readonly text: string;
}

/** A call that started but never returned in the log (the process ended inside it). */
export interface UnfinishedSyscall {
  readonly tid: number;
  readonly name: string;
  readonly line: number;
  readonly text: string;
}

/** Every call in the log, in the order they started, and those that never returned. */
export interface StraceLog {
  readonly calls: readonly Syscall[];
  readonly unfinished: readonly UnfinishedSyscall[];
}

const LINE = /^(\d+)\s+(\d+)\.(\d+)\s+(.*)$/;
const RESUMED = /^<\.\.\. ([a-z0-9_]+) resumed>(.*)$/;
const UNFINISHED_SUFFIX = " <unfinished ...>";
const CALL_START = /^([a-z0-9_]+)\(/;
const OUTCOME = /^\s*=\s*(.*?)\s*<(\d+)\.(\d+)>$/;

/** Seconds and a decimal fraction (any number of digits) as whole microseconds, rounded down. */
export function toMicroseconds(seconds: string, fraction: string): number {
  return Number(seconds) * 1_000_000 + Number(fraction.padEnd(6, "0").slice(0, 6));
}

/**
 * Parses a whole log. Signal and exit notices (`--- SIG... ---`,
 * `+++ ... +++`) are skipped; any other line that is not a call throws, so a
 * change of format cannot go unnoticed.
 */
export function parseStraceLog(text: string): StraceLog {
  const calls: { call: Syscall; order: number }[] = [];
  const pending = new Map<number, { name: string; head: string; startUs: number; line: number; text: string }>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === "") continue;
    const lineNumber = i + 1;
    const match = LINE.exec(raw);
    if (match === null) throw new Error(`strace log line ${lineNumber} has no thread id and -ttt time: ${raw}`);
    const tid = Number(match[1]);
    const atUs = toMicroseconds(match[2]!, match[3]!);
    const body = match[4]!;
    if (body.startsWith("---") || body.startsWith("+++")) continue;
    const resumed = RESUMED.exec(body);
    if (resumed !== null) {
      const started = pending.get(tid);
      if (started === undefined || started.name !== resumed[1]) {
        throw new Error(`strace log line ${lineNumber} resumes ${resumed[1]} on thread ${tid}, which has no such call unfinished: ${raw}`);
      }
      pending.delete(tid);
      const call = completeCall(tid, started.head + resumed[2]!, started.startUs, started.line, `${started.text}\n${raw}`);
      // Ordered by the line where the call started, like every other call.
      calls.push({ call, order: started.line });
      continue;
    }
    if (body.endsWith(UNFINISHED_SUFFIX)) {
      const name = CALL_START.exec(body)?.[1];
      if (name === undefined) throw new Error(`strace log line ${lineNumber} is not a call: ${raw}`);
      pending.set(tid, { name, head: body.slice(0, -UNFINISHED_SUFFIX.length), startUs: atUs, line: lineNumber, text: raw });
      continue;
    }
    calls.push({ call: completeCall(tid, body, atUs, lineNumber, raw), order: lineNumber });
  }
  calls.sort((a, b) => a.order - b.order);
  const unfinished = [...pending.entries()].map(([tid, p]) => ({ tid, name: p.name, line: p.line, text: p.text }));
  return { calls: calls.map((c) => c.call), unfinished };
}

/** `name(args) = result <duration>` as one string (a single line, or an unfinished head joined with its resumed tail). */
function completeCall(tid: number, body: string, startUs: number, line: number, text: string): Syscall {
  const name = CALL_START.exec(body)?.[1];
  if (name === undefined) throw new Error(`strace log line ${line} is not a call: ${text}`);
  const open = name.length;
  const close = matchingParen(body, open);
  if (close === -1) throw new Error(`strace log line ${line}: no closing parenthesis: ${text}`);
  const outcome = OUTCOME.exec(body.slice(close + 1));
  if (outcome === null) throw new Error(`strace log line ${line}: no "= result <duration>" (run strace with -T): ${text}`);
  return {
    tid,
    name,
    args: splitTopLevel(body.slice(open + 1, close)),
    result: outcome[1]!,
    startUs,
    endUs: startUs + toMicroseconds(outcome[2]!, outcome[3]!),
    line,
    text,
  };
}

const CLOSERS: Record<string, string> = { "(": ")", "[": "]", "{": "}", "<": ">" };

/**
 * Walks `text` from `from` outside quoted strings, calling `visit` with each
 * character and the nesting depth before it; stops when `visit` returns true
 * and gives that index (-1 if it never does).
 */
function scan(text: string, from: number, visit: (char: string, depth: number, index: number) => boolean): number {
  const stack: string[] = [];
  for (let i = from; i < text.length; i++) {
    const char = text[i]!;
    if (char === '"') {
      // Skip the string, escapes included.
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      continue;
    }
    if (visit(char, stack.length, i)) return i;
    const closer = CLOSERS[char];
    if (closer !== undefined) stack.push(closer);
    else if (char === stack.at(-1)) stack.pop();
  }
  return -1;
}

/** Index of the `)` that closes the `(` at `open`. */
function matchingParen(text: string, open: number): number {
  return scan(text, open, (char, depth, index) => index > open && depth === 1 && char === ")");
}

/** Splits an argument list at commas outside strings, brackets, braces and `-y` paths. */
export function splitTopLevel(text: string): string[] {
  if (text.trim() === "") return [];
  const parts: string[] = [];
  let start = 0;
  scan(text, 0, (char, depth, index) => {
    if (char === "," && depth === 0) {
      parts.push(text.slice(start, index).trim());
      start = index + 1;
    }
    return false;
  });
  parts.push(text.slice(start).trim());
  return parts;
}

/** A file descriptor argument or result, with the path `-y` printed after it (`18</tmp/x>`). */
export function parseFd(text: string): { fd: number; path: string | undefined } | undefined {
  const match = /^(-?\d+)(?:<(.*)>)?$/.exec(text.trim());
  if (match === null) return undefined;
  return { fd: Number(match[1]), path: match[2] };
}

/** The integer a call returned (`-1` for an error), or undefined when strace printed none (`?`). */
export function returnValue(call: Syscall): number | undefined {
  const match = /^(-?\d+)/.exec(call.result);
  return match === null ? undefined : Number(match[1]);
}

/** An integer argument (decimal, or hex as `-X raw` prints). */
export function integerArg(call: Syscall, index: number): number {
  const text = call.args[index];
  const value = text === undefined ? Number.NaN : Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`argument ${index} of ${call.name} at line ${call.line} is not an integer: ${call.text}`);
  return value;
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, '"': 34, "\\": 92 };

/**
 * Decodes a quoted string argument as strace prints it (C escapes, `\xHH`,
 * octal). `truncated` is true when strace cut it at `-s` (a trailing `...`).
 */
export function parseQuoted(text: string): { bytes: Buffer; truncated: boolean } {
  const trimmed = text.trim();
  const truncated = trimmed.endsWith('"...');
  const body = truncated ? trimmed.slice(0, -3) : trimmed;
  if (body.length < 2 || !body.startsWith('"') || !body.endsWith('"')) throw new Error(`not a quoted string: ${text}`);
  const out: number[] = [];
  for (let i = 1; i < body.length - 1; i++) {
    const char = body[i]!;
    if (char !== "\\") {
      out.push(...Buffer.from(char, "latin1"));
      continue;
    }
    const next = body[++i]!;
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      out.push(simple);
    } else if (next === "x") {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const octal = /^[0-7]{1,3}/.exec(body.slice(i))?.[0];
      if (octal === undefined) throw new Error(`unknown escape \\${next} in ${text}`);
      out.push(parseInt(octal, 8));
      i += octal.length - 1;
    }
  }
  return { bytes: Buffer.from(out), truncated };
}
