// Latest wins, as both engines and the host compare events: by time, then stream position.
import type { LatestMark } from "./types.js";

/** An event's `time` in epoch ms, or undefined when it is not a time (such an event is never compared). */
export function eventTimeMs(time: string): number | undefined {
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Whether the mark stands for a newer event than the one at (`time`, `key`): that one is stale. */
export function isNewer(mark: LatestMark, time: number, key: number): boolean {
  return mark.time > time || (mark.time === time && mark.key > key);
}

/** The later of two marks (either may be absent). */
export function newest(a: LatestMark | undefined, b: LatestMark | undefined): LatestMark | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return isNewer(b, a.time, a.key) ? b : a;
}
