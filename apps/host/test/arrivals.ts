// Arrival times as a receiver recorded them, and what a rate limit allows of them.

/** The most arrivals in any window of `windowMs` (closed at both ends: the strictest reading). */
export function busiestWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let start = 0, end = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]! <= sorted[start]! + windowMs) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

/** How many deliveries a token bucket lets start within a window of `windowMs`. */
export const allowedIn = (limit: { perSecond: number; burst: number }, windowMs: number) =>
  limit.burst + Math.floor((limit.perSecond * windowMs) / 1000);
