/**
 * Retry jitter that survives a restart: a hash of the run and its attempt
 * count stands in for a random draw, so the scheduler and the pure promotion
 * helpers agree, and a restarted process computes the same retry times.
 */

/**
 * The jitter fraction, in [0, 1), of a run's retry after `attempt` counted
 * attempts: a hash of both rather than a random draw, so the retry time is
 * the same when a restarted process rebuilds its schedule from the log, while
 * different runs still spread out.
 */
export function jitterFraction(runId: string, attempt: number): number {
  let h = (0x811c9dc5 ^ attempt) >>> 0;
  for (let i = 0; i < runId.length; i++) h = Math.imul(h ^ runId.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}
