/** Settings for exponential backoff with full jitter. */
export interface BackoffOptions {
  /** Delay before the first retry, before jitter. */
  initialMs: number;
  /** Ceiling for any one delay. */
  maxMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Lower bound, e.g. the server's `retry:` hint. */
  floorMs?: number;
}

/**
 * Delay before retry number `attempt` (1-based): a random point in [floor, min(max, initial·factor^(attempt-1))],
 * "full jitter", so that many clients retrying at once spread out.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const factor = options.factor ?? 2;
  const ceiling = Math.min(options.maxMs, options.initialMs * factor ** Math.max(0, attempt - 1));
  const floor = Math.min(options.floorMs ?? 0, options.maxMs);
  return Math.round(floor + random() * Math.max(0, ceiling - floor));
}

/**
 * Parse an HTTP `Retry-After` value (delta seconds or an HTTP date) into milliseconds from `now`.
 * Returns undefined for a missing or unreadable value.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
