/**
 * Bearer-token protection of the mutating routes. The token is compared in
 * constant time (both sides hashed to a fixed length first, so neither the
 * content nor the length leaks through timing). Without a configured token
 * control is refused with a message saying how to configure one, unless the
 * operator explicitly allowed unauthenticated control.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { daemonError } from "./errors.js";
import type { HttpError } from "./errors.js";

/** Environment variable the token may come from. */
export const TOKEN_ENV = "ACTIONQUEUE_TOKEN";

/** Shortest token accepted, in characters. */
export const MIN_TOKEN_LENGTH = 16;

/** How mutating routes are protected. */
export interface AuthConfig {
  /** The bearer token; when absent control is refused unless `allowUnauthenticatedControl`. */
  readonly token?: string;
  /** Let mutating routes through without a token (only when no token is configured). */
  readonly allowUnauthenticatedControl?: boolean;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Constant-time string equality. */
export function tokensEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Checks the `Authorization` header of a mutating request. Returns
 * `undefined` when the request may proceed, else the error to answer:
 * 401 `UNAUTHORIZED` (no or malformed header), 403 `FORBIDDEN` (wrong token,
 * or control not configured).
 */
export function checkControlAccess(config: AuthConfig, authorization: string | undefined): HttpError | undefined {
  if (config.token === undefined) {
    if (config.allowUnauthenticatedControl === true) return undefined;
    return daemonError(
      "FORBIDDEN",
      `control is disabled because no token is configured: start the daemon with --token-file FILE or ${TOKEN_ENV}=TOKEN and send 'Authorization: Bearer TOKEN' (or pass --allow-unauthenticated-control on a trusted machine)`,
    );
  }
  if (authorization === undefined || authorization === "") {
    return daemonError("UNAUTHORIZED", "this route needs 'Authorization: Bearer TOKEN'");
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match === null) return daemonError("UNAUTHORIZED", "malformed Authorization header: expected 'Bearer TOKEN'");
  if (!tokensEqual(match[1] ?? "", config.token)) return daemonError("FORBIDDEN", "the bearer token is not valid for this daemon");
  return undefined;
}

/** Validates a configured token; throws a message naming what is wrong. */
export function validateToken(token: string, source: string): string {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`${source}: the token must be at least ${MIN_TOKEN_LENGTH} characters long`);
  }
  if (/\s/.test(token)) throw new Error(`${source}: the token must not contain whitespace`);
  return token;
}
