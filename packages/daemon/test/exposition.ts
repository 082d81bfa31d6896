/**
 * A strict reader of the Prometheus text exposition format (0.0.4) for the
 * tests: every sample must belong to a family declared by a `# TYPE` line
 * before it, names and labels must be well formed, values must be numbers,
 * series must be unique and histogram buckets cumulative with `+Inf` equal
 * to `_count`. Throws naming the offending line.
 */

/** One parsed sample. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$/;
const LABEL = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const value = Number(text);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) || Number.isNaN(value)) throw new Error(`bad value in: ${line}`);
  return value;
}

function parseLabels(text: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text ?? "";
  while (rest.trim() !== "") {
    const m = LABEL.exec(rest);
    if (m === null) throw new Error(`bad labels in: ${line}`);
    if (m[1]! in labels) throw new Error(`duplicate label ${m[1]!} in: ${line}`);
    labels[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  return labels;
}

function familyOf(name: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const type = types.get(base);
      if (type === "histogram" || (type === "summary" && suffix !== "_bucket")) return base;
    }
  }
  return undefined;
}

/** Parses and checks an exposition; returns its samples. */
export function parseExposition(text: string): Sample[] {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (m === null) continue; // a plain comment
      if (!NAME.test(m[2]!)) throw new Error(`bad metric name in: ${line}`);
      if (m[1] === "TYPE") {
        if (!TYPES.has(m[3] ?? "")) throw new Error(`bad type in: ${line}`);
        if (types.has(m[2]!)) throw new Error(`second TYPE for ${m[2]!}`);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`bad sample line: ${line}`);
    const name = m[1]!;
    if (familyOf(name, types) === undefined) throw new Error(`sample before its TYPE: ${line}`);
    const labels = parseLabels(m[2], line);
    const key = `${name}{${Object.entries(labels)
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(",")}}`;
    if (seen.has(key)) throw new Error(`duplicate series ${key}`);
    seen.add(key);
    samples.push({ name, labels, value: parseValue(m[3]!, line) });
  }
  // Histograms: buckets cumulative, +Inf == _count.
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const groups = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le: _le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    for (const [key, buckets] of groups) {
      const sorted = [...buckets].sort((a, b) => parseValue(a.labels.le!, "le") - parseValue(b.labels.le!, "le"));
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i]!.value < sorted[i - 1]!.value) throw new Error(`${family} buckets not cumulative for ${key}`);
      }
      const inf = sorted.at(-1);
      const count = samples.find((x) => x.name === `${family}_count` && JSON.stringify(x.labels) === key);
      if (inf?.labels.le !== "+Inf" || count === undefined || count.value !== inf.value) throw new Error(`${family}: +Inf bucket and _count disagree for ${key}`);
    }
  }
  return samples;
}

/** The value of one series (undefined when absent). */
export function sampleValue(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** `runsByState` keys and the label each has in /metrics, written out here rather than taken from the daemon. */
export const STATE_LABELS = {
  scheduled: "scheduled",
  ready: "ready",
  leased: "leased",
  running: "running",
  retryWait: "retry_wait",
  suspended: "suspended",
  completed: "completed",
  failed: "failed",
  canceled: "canceled",
} as const;
