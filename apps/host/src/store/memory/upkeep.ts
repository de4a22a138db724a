// Upkeep (../types.ts): what `prune` forgets, and `touch`.
import type { StateStore } from "../types.js";
import { type Answers, hasRows, type MemoryState } from "./state.js";

type UpkeepMethods = Pick<StateStore, "prune" | "touch">;

export function memoryUpkeep(state: MemoryState): Answers<UpkeepMethods> {
  return {
    prune(now, dedupeWindowMs, keepPayloadsMs = 0) {
      // An event is finished once none of its deliveries has a row: held ones have rows from ingest
      // (`heldDeliveries: row`), and dead letters keep theirs, so their payloads and ids stay.
      const payloadsBefore = now - keepPayloadsMs;
      const rowsBefore = now - Math.max(dedupeWindowMs, keepPayloadsMs);
      for (const [key, event] of state.events) {
        if (hasRows(state, key)) continue;
        // The row goes once older than both the dedupe window and `keepPayloadsMs`: its id is forgotten.
        if (event.receivedAt < rowsBefore) {
          state.events.delete(key);
          state.eventKeys.get(event.tenant)?.delete(event.eventId);
          continue;
        }
        // The payload goes once `keepPayloadsMs` old (by when it was received); without it, at once.
        if (keepPayloadsMs === 0 || event.receivedAt < payloadsBefore) event.payload = undefined;
      }
      // Cache entries expired by `now`.
      for (const entries of state.cache.values()) {
        for (const [key, record] of entries) if (record.expires_at <= now) entries.delete(key);
      }
    },

    // Nothing to prove: the state is this process's memory, writable while the store is open (index.ts).
    touch() {},
  };
}
