/**
 * HTTP errors of the daemon and the one mapping from anything thrown to a
 * status and the `{ "error": { "code", "message", "field"? } }` envelope.
 * ActionQueue errors are mapped by the family of their stable code, so a new
 * code in core lands in the right status without touching this file.
 */
import { ActionQueueError } from "@actionqueue/core";

/** Codes the daemon raises itself (besides the core `ERROR_CODES`). */
export const DAEMON_ERROR_CODES = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  ROUTE_NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_JSON: 400,
  INVALID_FIELD: 400,
  BAD_REQUEST: 400,
  NOT_READY: 503,
  INTERNAL: 500,
} as const;

/** A code from {@link DAEMON_ERROR_CODES}. */
export type DaemonErrorCode = keyof typeof DAEMON_ERROR_CODES;

/** The JSON body of every error response. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}

/** An error with an HTTP status, raised by the daemon's own checks. */
export class HttpError extends Error {
  /** HTTP status code. */
  readonly status: number;
  /** Stable machine-readable code. */
  readonly code: string;
  /** The request field at fault (`limit`, `body.runPolicy`, `id`), when there is one. */
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, options: { readonly field?: string; readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.field = options.field;
  }
}

/** Builds an {@link HttpError} for one of the daemon's own codes. */
export function daemonError(code: DaemonErrorCode, message: string, field?: string): HttpError {
  return new HttpError(DAEMON_ERROR_CODES[code], code, message, field === undefined ? {} : { field });
}

/** The status of an ActionQueue error code, by its family. */
export function statusForActionQueueError(error: ActionQueueError): number {
  switch (error.family) {
    case "validation":
      return 400;
    case "not_found":
      return 404;
    case "transition":
      return 409;
    case "conflict":
      return error.code === "SEQUENCE_CONFLICT" || error.code === "STALE_FENCING_TOKEN" ? 503 : 409;
    case "storage":
      return error.code === "CLOSED" || error.code === "AUTHORITY_POISONED" || error.code === "LOCK_HELD" ? 503 : 500;
    case "handler":
      return 500;
  }
}

function envelope(code: string, message: string, field: string | undefined): ErrorBody {
  return { error: { code, message, ...(field === undefined ? {} : { field }) } };
}

// Fastify's own client errors (body too large, bad JSON, wrong media type).
function frameworkError(error: unknown): { status: number; code: string; message: string } | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { statusCode, code, message } = error as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof statusCode !== "number" || statusCode < 400 || statusCode >= 500) return undefined;
  const text = typeof message === "string" ? message : "bad request";
  if (statusCode === 413) return { status: 413, code: "PAYLOAD_TOO_LARGE", message: `request body too large: ${text}` };
  if (statusCode === 415) return { status: 415, code: "UNSUPPORTED_MEDIA_TYPE", message: `${text}; send JSON with content-type application/json` };
  if (typeof code === "string" && code.includes("JSON")) return { status: 400, code: "INVALID_JSON", message: `body: ${text}` };
  if (error instanceof SyntaxError) return { status: 400, code: "INVALID_JSON", message: `body: ${text}` };
  return { status: statusCode, code: "BAD_REQUEST", message: text };
}

/**
 * Maps anything thrown by a route to a status and the error envelope.
 * Unexpected errors become 500 `INTERNAL` without leaking their message;
 * `internal` is then true so the caller can log the original.
 */
export function errorResponse(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (error instanceof HttpError) return { status: error.status, body: envelope(error.code, error.message, error.field), internal: false };
  if (ActionQueueError.is(error)) {
    const field = typeof error.details.field === "string" ? error.details.field : undefined;
    const status = statusForActionQueueError(error);
    return { status, body: envelope(error.code, error.message, field), internal: status >= 500 && status !== 503 };
  }
  const framework = frameworkError(error);
  if (framework !== undefined) return { status: framework.status, body: envelope(framework.code, framework.message, undefined), internal: false };
  return { status: 500, body: envelope("INTERNAL", "internal error; see the daemon's log", undefined), internal: true };
}
