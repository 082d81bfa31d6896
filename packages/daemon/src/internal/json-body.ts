/**
 * The daemon's `application/json` body parser. Like fastify's default parser
 * it refuses keys that could reach an object's prototype (`__proto__`, and
 * `constructor` holding `prototype`), but it says so: fastify answers such a
 * body as "not valid JSON", which hides both the reason and the key. Here the
 * refusal is a 400 `INVALID_FIELD` whose `field` and message name the key.
 */
import { daemonError } from "../errors.js";
import type { HttpError } from "../errors.js";

/** The message for a body that does not parse (the wording of fastify's own parser, kept for clients). */
const INVALID_JSON_MESSAGE = "body: Body is not valid JSON but content-type is set to 'application/json'";

/**
 * Only a text holding one of these can decode to a refused key: the letters
 * of `__proto__` and `constructor` can be written in JSON only as themselves
 * or as `\u` escapes. Anything else skips the walk.
 */
const SUSPECT = /__proto__|constructor|\\u/;

/**
 * Parses a request body declared as JSON. An empty (or blank) body is no
 * body (`undefined`); text that does not parse is 400 `INVALID_JSON`; a
 * prototype key anywhere in the value is 400 `INVALID_FIELD` naming it.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === "") return undefined;
  // A leading byte order mark is tolerated, as fastify's parser does.
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch {
    throw daemonError("INVALID_JSON", INVALID_JSON_MESSAGE);
  }
  if (SUSPECT.test(source)) {
    const refused = findPrototypeKey(value);
    if (refused !== undefined) throw refused;
  }
  return value;
}

/** An object of the parsed value, with the way to it (kept as links so a deep value costs no path strings). */
interface Visit {
  readonly node: object;
  readonly key: string | undefined;
  readonly parent: Visit | undefined;
}

/**
 * The first prototype key of `root` in document order, as the error to
 * answer; `undefined` when there is none. The walk uses its own stack: a
 * body may nest far deeper than the call stack allows.
 */
function findPrototypeKey(root: unknown): HttpError | undefined {
  if (typeof root !== "object" || root === null) return undefined;
  const stack: Visit[] = [{ node: root, key: undefined, parent: undefined }];
  for (let visit = stack.pop(); visit !== undefined; visit = stack.pop()) {
    const node = visit.node as Record<string, unknown>;
    if (Object.hasOwn(node, "__proto__")) return refusal(root, visit, "__proto__");
    if (Object.hasOwn(node, "constructor")) {
      const inner = node.constructor;
      if (typeof inner === "object" && inner !== null && Object.hasOwn(inner, "prototype")) return refusal(root, visit, "constructor.prototype");
    }
    const keys = Object.keys(node);
    // Pushed last to first, so the first key is visited first.
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const child = node[key];
      if (typeof child === "object" && child !== null) stack.push({ node: child, key, parent: visit });
    }
  }
  return undefined;
}

/**
 * The refusal of `key` in the object reached by `visit`. Its `field` follows
 * the daemon's other body errors: `body.__proto__` at the top level,
 * `constraints.__proto__` inside a field (`body.` leads when the body is an
 * array, whose indexes are no field names).
 */
function refusal(root: object, visit: Visit, key: "__proto__" | "constructor.prototype"): HttpError {
  const path: string[] = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) path.push(at.key);
  path.reverse();
  const field = [...(path.length === 0 || Array.isArray(root) ? ["body"] : []), ...path, key].join(".");
  return daemonError(
    "INVALID_FIELD",
    `${field}: the body is valid JSON, but the key ${JSON.stringify(key)} is refused: it could reach an object's prototype (prototype poisoning)`,
    field,
  );
}
