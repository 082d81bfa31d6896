/**
 * Text that UTF-8 can hold. A JavaScript string may carry a lone UTF-16
 * surrogate (JSON's "\ud800" escape makes one); the WAL stores text as UTF-8,
 * which has no such character and writes U+FFFD instead, so the value would
 * change on its way to disk: a task resubmitted after a restart would no
 * longer match itself, and two distinct concurrency keys would become one.
 */
import { ValidationError } from "../errors/action-queue-error.js";

/** `isWellFormed` is ES2024; Node 20 has it, the ES2023 lib types do not. */
type MaybeWellFormed = string & { isWellFormed?: () => boolean };

/** True when `value` has no lone surrogate. */
export function isWellFormedText(value: string): boolean {
  const text = value as MaybeWellFormed;
  if (text.isWellFormed !== undefined) return text.isWellFormed();
  return !/\p{Cs}/u.test(value);
}

/** Throws `INVALID_TEXT` naming `field` when `value` holds a lone surrogate, which UTF-8 cannot store. */
export function assertWellFormedText(field: string, value: string): void {
  if (isWellFormedText(value)) return;
  const at = value.search(/\p{Cs}/u);
  const unit = value.charCodeAt(at).toString(16).toUpperCase();
  throw new ValidationError(
    "INVALID_TEXT",
    `invalid ${field}: a lone UTF-16 surrogate (\\u${unit}) at index ${at}, which UTF-8 cannot store (the text would change on its way to disk)`,
    { details: { field, index: at } },
  );
}
