// What the host keeps per action besides its deliveries (../types.ts): action states, `api.cache` entries,
// circuit breakers and latest-wins marks.
import type { CacheRecord } from "@switchyard/core";
import { actionStateOf, actionStateRow } from "../action-state.js";
import type { ActionState, BreakerRecord, StateStore } from "../types.js";
import { type Answers, compareText, entryOf, type MemoryState } from "./state.js";

type StateMethods = Pick<
  StateStore,
  | "actionStates"
  | "setActionState"
  | "loadCache"
  | "saveCache"
  | "removeCache"
  | "latestDelivered"
  | "setBreaker"
  | "breakers"
  | "resetBreakers"
>;

/** A breaker's place in the state: one per action and replica. */
const breakerId = (action: string, replica: string) => `${action}\u0000${replica}`;

/**
 * A state as both SQL engines keep it (../action-state.ts): `failed` is not kept beside `paused`, and
 * `reason` and `since` only where they mean something.
 */
const kept = (state: ActionState): ActionState => actionStateOf(actionStateRow(state));

export function memoryStates(state: MemoryState): Answers<StateMethods> {
  return {
    // Every action that has a stored state; one never paused nor failed may be absent.
    actionStates: () =>
      Object.fromEntries([...state.actionStates].map(([action, stored]) => [action, { ...stored }])),
    setActionState(action, actionState) {
      state.actionStates.set(action, kept(actionState));
    },

    // Cache entries are read at start, without those expired by then.
    loadCache(action) {
      const now = Date.now();
      return [...(state.cache.get(action) ?? new Map<string, CacheRecord>())]
        .filter(([, record]) => record.expires_at > now)
        .map(([key, record]): [string, CacheRecord] => [key, { ...record }]);
    },
    saveCache(action, key, record) {
      entryOf(state.cache, action, () => new Map()).set(key, {
        value: record.value,
        expires_at: record.expires_at,
      });
    },
    removeCache(action, key) {
      state.cache.get(action)?.delete(key);
    },

    // Latest wins: `complete` moves a subject's mark (deliveries.ts); this reads it.
    latestDelivered(action, subject) {
      const mark = state.latest.get(action)?.get(subject);
      return mark ? { ...mark } : undefined;
    },

    // A breaker that is not closed has a record; closing it removes the record.
    setBreaker(record) {
      const id = breakerId(record.action, record.replica);
      if (record.state === "closed") {
        state.breakers.delete(id);
        return;
      }
      const { action, replica, state: breakerState, since, until } = record;
      state.breakers.set(id, {
        action,
        replica,
        state: breakerState,
        since,
        ...(until !== undefined ? { until } : {}),
      });
    },
    // The breakers of replicas that are alive: the state lives in its one host's process, so whoever can
    // read it shares that process with the host (no SIGKILLed host's records to distrust, as SQLite must).
    breakers: () =>
      [...state.breakers.values()]
        .map((record): BreakerRecord => ({ ...record }))
        .sort((a, b) => compareText(a.action, b.action) || compareText(a.replica, b.replica)),
    // One host per state: at its start, whoever recorded breakers before is not running. Every record goes.
    resetBreakers() {
      state.breakers.clear();
    },
  };
}
