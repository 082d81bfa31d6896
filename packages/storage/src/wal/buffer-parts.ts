/**
 * `parts` without their first `skip` bytes: what is left to write after a
 * `writev` of `parts` wrote only `skip` bytes. The parts are views; nothing
 * is copied.
 */
export function partsAfter(parts: readonly Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const part of parts) {
    if (skip >= part.length) {
      skip -= part.length;
      continue;
    }
    rest.push(skip > 0 ? part.subarray(skip) : part);
    skip = 0;
  }
  return rest;
}
