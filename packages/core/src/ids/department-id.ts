/** DepartmentId: a human-readable actor group ("engineering"), validated, not a ULID. */
import { ValidationError, describeValue } from "../errors/action-queue-error.js";

declare const brand: unique symbol;

/** A validated department name: 1 to 128 UTF-8 bytes. */
export type DepartmentId = string & { readonly [brand]: "DepartmentId" };

/** Longest department name, in UTF-8 bytes. */
export const DEPARTMENT_ID_MAX_BYTES = 128;

/** Validates a department name; throws `EMPTY_DEPARTMENT_ID` or `DEPARTMENT_ID_TOO_LONG`. */
export function parseDepartmentId(value: unknown): DepartmentId {
  if (typeof value !== "string") {
    throw new ValidationError("EMPTY_DEPARTMENT_ID", `department id must be a string, got ${describeValue(value)}`, {
      details: { field: "department", value: describeValue(value) },
    });
  }
  if (value.length === 0) {
    throw new ValidationError("EMPTY_DEPARTMENT_ID", "department id must not be empty", {
      details: { field: "department" },
    });
  }
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > DEPARTMENT_ID_MAX_BYTES) {
    throw new ValidationError(
      "DEPARTMENT_ID_TOO_LONG",
      `department id is ${bytes} bytes long; at most ${DEPARTMENT_ID_MAX_BYTES} UTF-8 bytes are allowed`,
      { details: { field: "department", length: bytes } },
    );
  }
  return value as DepartmentId;
}
