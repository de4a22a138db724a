// The memory engine's state: plain maps and arrays, no I/O. One `MemoryState` is one host's durable state;
// a store opened again on it (`openMemoryStore({ state })`) finds it as a restarted host finds its SQLite
// folder. Each facet (deliveries.ts, dead-letters.ts, states.ts, history.ts, audit.ts, upkeep.ts) reads and
// writes its part of it synchronously, and index.ts makes each answer a promise: a method never awaits, so it
// runs to its end before any other starts, which is what makes every change atomic and concurrent claims
// disjoint.
import type { CacheRecord } from "@switchyard/core";
import { type MinuteBucket, typeRange } from "../history.js";
import type { ActionState, AuditEntry, BreakerRecord, LatestMark, StoredAttempt } from "../types.js";

/** One stored event (the contract's `IngestEvent`, as kept). */
export interface EventRow {
  /** The store's key: opaque, increasing, never reused (even once the event is pruned). */
  key: number;
  tenant: string;
  eventId: string;
  type: string;
  time: string;
  /** When the store received it (epoch ms): `prune` counts the payload's and the row's age from it. */
  receivedAt: number;
  /** Dropped by `prune` once no delivery needs it. */
  payload: string | undefined;
  trace: string | undefined;
}

/** What a delivery row is: waiting (`pending`), claimed or held (`in flight`), or a dead letter. */
export type DeliveryStatus = "pending" | "in flight" | "dead";

/** One delivery row. A delivered one has none: `complete` deletes it. */
export interface DeliveryRow {
  action: string;
  /** Its event's key. */
  key: number;
  status: DeliveryStatus;
  /** Attempts since it was last due afresh (`ClaimedDelivery.attempts`). */
  attempts: number;
  /** A replayed dead letter's attempts before its replays (`ClaimedDelivery.attemptsBefore`); else 0. */
  attemptsBefore: number;
  /** When a pending row is due (epoch ms). */
  dueAt: number;
  /** Ordered actions' order key (a latest-wins action's subject), else null. */
  orderKey: string | null;
  lastError: string | undefined;
  /** When its status last changed (epoch ms): a dead letter's `failedAt`. */
  updatedAt: number;
}

export interface MemoryState {
  /** Every stored event by key; a Map iterates in insertion order, which is key order. */
  events: Map<number, EventRow>;
  /** Dedupe: per tenant, each stored event id's key (ids are unique per tenant, not across tenants). */
  eventKeys: Map<string, Map<string, number>>;
  /** The last key given to an event. */
  lastEventKey: number;
  /** Each tenant's stream cursor. */
  cursors: Map<string, string>;
  /** Delivery rows per action, by event key (in no particular order: sort where order matters). */
  deliveries: Map<string, Map<number, DeliveryRow>>;
  /** Latest wins: per action, per subject, the newest event delivered to it. */
  latest: Map<string, Map<string, LatestMark>>;
  actionStates: Map<string, ActionState>;
  /** Per action, its `api.cache` entries by key. */
  cache: Map<string, Map<string, CacheRecord>>;
  /** Breakers that are not closed, by `action` and `replica` (see `breakerId`). */
  breakers: Map<string, BreakerRecord>;
  /** Recorded attempts in id order (ids increase, so a search walks it backwards for newest first). */
  attempts: StoredAttempt[];
  lastAttemptId: number;
  /** The per-minute rollup of attempts, by `minute` and `action` (see `bucketId`). */
  minutes: Map<string, MinuteBucket>;
  /** Audit entries in id order. */
  audit: AuditEntry[];
  lastAuditId: number;
}

/** A fresh, empty state. */
export function createMemoryState(): MemoryState {
  return {
    events: new Map(),
    eventKeys: new Map(),
    lastEventKey: 0,
    cursors: new Map(),
    deliveries: new Map(),
    latest: new Map(),
    actionStates: new Map(),
    cache: new Map(),
    breakers: new Map(),
    attempts: [],
    lastAttemptId: 0,
    minutes: new Map(),
    audit: [],
    lastAuditId: 0,
  };
}

/**
 * A facet of the contract as the memory engine answers it: synchronously (index.ts wraps each method in a
 * promise, as store/open.ts's `inline` does for SQLite).
 */
export type Answers<T> = {
  [K in keyof T]-?: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : never;
};

/** The value of `map` at `key`, created by `make` when absent. */
export function entryOf<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** One action's delivery rows (an empty map, not stored, for an action with none). */
export function rowsOf(state: MemoryState, action: string): Map<number, DeliveryRow> {
  return state.deliveries.get(action) ?? new Map();
}

/** Every delivery row, of every action. */
export function* allRows(state: MemoryState): Generator<DeliveryRow> {
  for (const rows of state.deliveries.values()) yield* rows.values();
}

/** Whether the event still has a delivery row (pending, in flight or dead): then it is not finished. */
export function hasRows(state: MemoryState, key: number): boolean {
  for (const rows of state.deliveries.values()) if (rows.has(key)) return true;
  return false;
}

/** Sort order of strings by code unit, as `<` compares them (no locale). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether an event type matches a pattern: `*` (any), `prefix.*` (the prefix and a dot, any depth), exact. */
export function typeMatches(pattern: string | undefined, type: string): boolean {
  // The range both SQL engines search attempts by (../history.ts): `user.` <= type < `user/`. Case counts, as
  // in Postgres's dead-letter selections (SQLite's LIKE there ignores the case of ASCII letters).
  const range = typeRange(pattern);
  if (range === undefined) return true;
  if ("exact" in range) return type === range.exact;
  return type >= range.from && type < range.to;
}
