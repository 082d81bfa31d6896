/**
 * Paths the router refuses before any route runs: a segment that is not valid
 * percent-encoding (fastify's `FST_ERR_BAD_URL`) and a path parameter over
 * the router's length limit (`FST_ERR_MAX_PARAM_LENGTH`). fastify answers
 * both in its own flat shape (the latter as 414); these map them to the
 * daemon's envelope, naming the segment, and to `INVALID_ID` when the
 * segment stands where a route takes its `:id`.
 */
import { HttpError, daemonError } from "../errors.js";

/**
 * Longest path parameter the router matches (fastify's default is 100). Ids
 * up to this length reach the routes' own validation, which names them.
 */
export const MAX_PATH_PARAM_LENGTH = 512;

/** How much of an over-long segment a message repeats. */
const SHOWN_PREFIX_LENGTH = 64;

/** Finds the route of a path, as `FastifyInstance.findRoute` (null when none matches). */
export type RouteFinder = (method: string, url: string) => { readonly params: unknown } | null;

/** The path part of a request target, split into its raw (still encoded) segments. */
function rawSegments(url: string): string[] {
  const end = url.search(/[?#]/);
  return (end === -1 ? url : url.slice(0, end)).split("/");
}

function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

function decodedLength(segment: string): number {
  try {
    return decodeURIComponent(segment).length;
  } catch {
    return segment.length;
  }
}

/**
 * The name of the route parameter that segment `index` of `segments` fills,
 * found by matching the path with a harmless stand-in at that place.
 */
function paramAt(findRoute: RouteFinder, method: string, segments: readonly string[], index: number): string | undefined {
  const standIn = "~segment~";
  const probe = segments.map((segment, i) => (i === index ? standIn : segment));
  let route: { readonly params: unknown } | null;
  try {
    route = findRoute(method, probe.join("/"));
  } catch {
    return undefined;
  }
  if (route === null || typeof route.params !== "object" || route.params === null) return undefined;
  for (const [name, value] of Object.entries(route.params)) if (value === standIn) return name;
  return undefined;
}

/** A path segment in a message: all of it, or its start and its length when it is over the limit. */
function showSegment(segment: string): string {
  if (segment.length <= MAX_PATH_PARAM_LENGTH) return JSON.stringify(segment);
  return `${JSON.stringify(`${segment.slice(0, SHOWN_PREFIX_LENGTH)}…`)} (${segment.length} characters)`;
}

/** A segment that is not valid percent-encoding: 400 `INVALID_ID` in an id's place, `BAD_REQUEST` elsewhere. */
function badEncoding(findRoute: RouteFinder, method: string, url: string): HttpError {
  const segments = rawSegments(url);
  const index = segments.findIndex((segment) => !decodes(segment));
  if (index === -1) return daemonError("BAD_REQUEST", `request target ${showSegment(url)} is not a valid path`);
  const segment = segments[index]!;
  const why = `is not valid percent-encoding: each "%" must start a "%XX" hex escape, and the escapes must decode to UTF-8 (send "%25" for a literal "%")`;
  const param = paramAt(findRoute, method, segments, index);
  if (param === undefined) return daemonError("BAD_REQUEST", `path segment ${showSegment(segment)} ${why}`);
  return new HttpError(400, param === "id" ? "INVALID_ID" : "INVALID_FIELD", `${param}: ${showSegment(segment)} ${why}`, { field: param });
}

/** A parameter over {@link MAX_PATH_PARAM_LENGTH}: 400 `INVALID_ID` in an id's place; a path no route takes stays 404. */
function overLong(findRoute: RouteFinder, method: string, url: string): HttpError {
  const segments = rawSegments(url);
  const index = segments.findIndex((segment) => decodedLength(segment) > MAX_PATH_PARAM_LENGTH);
  if (index === -1) return daemonError("BAD_REQUEST", `a path segment is longer than ${MAX_PATH_PARAM_LENGTH} characters`);
  const param = paramAt(findRoute, method, segments, index);
  if (param === undefined) {
    const path = segments.join("/");
    return daemonError("ROUTE_NOT_FOUND", `no route ${method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`);
  }
  const segment = segments[index]!;
  if (param !== "id") return new HttpError(400, "INVALID_FIELD", `${param}: ${showSegment(segment)} is longer than ${MAX_PATH_PARAM_LENGTH} characters`, { field: param });
  return new HttpError(400, "INVALID_ID", `id: invalid id ${showSegment(segment)}: expected a 26-character ULID (Crockford base32)`, { field: "id" });
}

/**
 * The error to answer for a routing failure fastify hands to its
 * `frameworkErrors` option, or `undefined` for one this does not know (the
 * caller then maps the original).
 */
export function routerError(error: { readonly code?: unknown }, method: string, url: string, findRoute: RouteFinder): HttpError | undefined {
  if (error.code === "FST_ERR_BAD_URL") return badEncoding(findRoute, method, url);
  if (error.code === "FST_ERR_MAX_PARAM_LENGTH") return overLong(findRoute, method, url);
  return undefined;
}
