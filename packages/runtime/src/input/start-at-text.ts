/**
 * A run policy's start as people type it (the CLI's `--start-at`): a delay
 * from now (`+90s`, `+10m`, `+2h`), an ISO 8601 date-time with its zone
 * (`2026-12-01T09:00:00Z`, `…+01:00`), or epoch milliseconds. A date-time
 * without a zone is refused: whether it meant UTC or the machine's local time
 * would be a guess.
 */
import { MAX_START_AT_MS, ValidationError, describeValue } from "@actionqueue/core";
import { parseDuration } from "./duration.js";

// Any number of fraction digits (`.123456`, kept to the millisecond) and an offset with or without its colon (`+0100`), as ISO 8601 allows.
const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))$/i;

function refuse(text: string, field: string, why: string): never {
  throw new ValidationError("INVALID_START_AT", `${field} ${describeValue(text)}: ${why}`, { details: { field, value: text } });
}

/**
 * Epoch ms of an ISO date-time with zone, or undefined when a part is out of
 * range (`Date.parse` would roll February 30 over into March).
 */
function isoToEpochMs(text: string): number | undefined {
  const m = ISO_WITH_ZONE.exec(text)!;
  const year = Number(m[1]);
  const month = Number(m[2]) - 1;
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6] ?? 0);
  const millis = Number((m[7] ?? "0").slice(0, 3).padEnd(3, "0"));
  const wall = Date.UTC(year, month, day, hour, minute, second, millis);
  const d = new Date(wall);
  const exact = d.getUTCFullYear() === year && d.getUTCMonth() === month && d.getUTCDate() === day;
  if (!exact || d.getUTCHours() !== hour || d.getUTCMinutes() !== minute || d.getUTCSeconds() !== second) return undefined;
  if (m[8] !== undefined) return wall; // Z
  const offsetHours = Number(m[10]);
  const offsetMinutes = Number(m[11]);
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000;
  return m[9] === "+" ? wall - offsetMs : wall + offsetMs;
}

/** Parses a start time into epoch milliseconds; `now` anchors `+duration`. Throws `INVALID_START_AT` naming `field`. */
export function parseStartAtText(text: string, now: number, field = "--start-at"): number {
  const trimmed = text.trim();
  let ms: number;
  if (trimmed.startsWith("+")) {
    try {
      ms = now + parseDuration(trimmed.slice(1), field);
    } catch {
      refuse(text, field, "expected a delay such as +90s, +10m or +2h after the +");
    }
  } else if (/^\d+$/.test(trimmed)) {
    ms = Number(trimmed);
  } else if (ISO_WITH_ZONE.test(trimmed)) {
    ms = isoToEpochMs(trimmed) ?? refuse(text, field, "is not a real date and time");
  } else if (/^\d{4}-\d{2}-\d{2}T[\d:.,]+$/i.test(trimmed)) {
    refuse(text, field, "a date and time needs its zone: end it with Z for UTC or an offset such as +01:00");
  } else if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    refuse(text, field, "expected an ISO 8601 date-time with zone such as 2026-12-01T09:00:00Z or 2026-12-01T10:00:00+01:00");
  } else {
    refuse(text, field, "expected +DELAY (e.g. +10m), an ISO 8601 date-time with zone (e.g. 2026-12-01T09:00:00Z) or epoch milliseconds");
  }
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_START_AT_MS) refuse(text, field, `is outside 0..${MAX_START_AT_MS} epoch milliseconds`);
  return ms;
}
