import type { FakeTenant } from "@switchyard/testing";
import { type StreamItem, type StreamOptions, stream } from "../src/index.js";

/** What a run saw through the hooks. */
export interface Seen {
  connects: number;
  reconnects: Array<{ attempt: number; delayMs: number; reason: string }>;
  errors: Error[];
  malformed: Array<{ offset: string | undefined; error: Error; raw: string }>;
  bytes: number;
  messages: number;
}

/** Read `count` items (or until `until` says so), then abort; returns the items and what the hooks saw. */
export async function take(
  tenant: FakeTenant,
  count: number,
  options: Partial<StreamOptions> = {},
  until?: (items: StreamItem[]) => boolean,
): Promise<{ items: StreamItem[]; seen: Seen; error?: unknown }> {
  const controller = new AbortController();
  const seen: Seen = { connects: 0, reconnects: [], errors: [], malformed: [], bytes: 0, messages: 0 };
  const items: StreamItem[] = [];
  try {
    for await (const item of stream({
      domain: tenant.url,
      auth: { token: tenant.token },
      fromTimestamp: new Date(0),
      backoff: { initialMs: 5, maxMs: 50 },
      signal: controller.signal,
      hooks: {
        onConnect: () => seen.connects++,
        onReconnect: (info) => seen.reconnects.push(info),
        onError: (error) => seen.errors.push(error),
        onMalformed: (info) => seen.malformed.push(info),
        onBytes: (bytes) => {
          seen.bytes += bytes;
        },
        onMessage: () => seen.messages++,
      },
      ...options,
    })) {
      items.push(item);
      if (items.length >= count || until?.(items)) controller.abort();
    }
  } catch (error) {
    return { items, seen, error };
  }
  return { items, seen };
}

/** The offsets of the events among `items`. */
export const eventOffsets = (items: StreamItem[]) =>
  items.filter((i) => i.kind === "event").map((i) => i.offset);

/** Offsets of indexes `from` (inclusive) to `to` (exclusive). */
export const range = (tenant: FakeTenant, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => tenant.offsetOf(from + i));
