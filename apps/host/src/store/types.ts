import type { Auth0Event, CacheBackend } from "@switchyard/core";

/** One event as the ingest path hands it to the store, with the deliveries it creates. */
export interface IngestEvent {
  event: Auth0Event;
  /** The JSON of the event, serialised once. */
  payload: string;
  deliveries: Array<{
    action: string;
    /** Ordering key for actions with `orderBy`, else null. */
    orderKey: string | null;
    /** True when the host already holds this delivery in memory and will run it now (stored as in flight). */
    claimed: boolean;
  }>;
}

export interface IngestResult {
  /** For each input event, in order: false when it was a duplicate (same id seen before) and created nothing. */
  inserted: boolean[];
  /** The store's integer key of each inserted event (undefined for duplicates). */
  keys: Array<number | undefined>;
}

/** A delivery the host runs now. */
export interface ClaimedDelivery {
  key: number;
  action: string;
  attempts: number;
  payload: string;
}

export type Completion =
  | { key: number; action: string; result: "delivered" }
  | { key: number; action: string; result: "retry"; attempts: number; dueAt: number; error: string }
  | { key: number; action: string; result: "dead"; attempts: number; error: string };

/** A dead-lettered delivery, as `switchyard dlq list --json` prints it. */
export interface DeadLetter {
  action: string;
  eventId: string;
  eventType: string;
  attempts: number;
  lastError: string;
  failedAt: string;
  eventTime: string;
}

export interface DeliveryFilter {
  action?: string | undefined;
  eventId?: string | undefined;
}

export interface StoreStats {
  /** Deliveries waiting or in flight, per action. */
  pending: Record<string, number>;
  /** Dead letters per action. */
  dead: Record<string, number>;
}

/**
 * The host's durable state: events, deliveries, the stream cursor, dead letters and action caches.
 * SQLite is the embedded implementation; the interface is kept small so a shared (Postgres) store fits.
 * Every method that changes state is atomic.
 */
export interface Store {
  getCursor(): string | undefined;
  /** Write new events, their deliveries and the new cursor in one transaction. */
  ingest(events: readonly IngestEvent[], cursor: string | undefined): IngestResult;
  /** Claim up to `limit` due deliveries of one action (marking them in flight). */
  claim(action: string, limit: number, now: number, ordered: boolean): ClaimedDelivery[];
  /** Record attempt results, in one transaction. */
  complete(completions: readonly Completion[]): void;
  /** Deliveries left in flight by a previous run become due again. Returns how many. */
  recoverInFlight(): number;
  listDead(filter?: DeliveryFilter): DeadLetter[];
  /** Make matching dead letters due now, with their attempts reset. Returns how many. */
  replayDead(filter?: DeliveryFilter, now?: number): number;
  /** Number of deliveries not finished yet (pending or in flight), all actions. */
  countUnfinished(): number;
  stats(): StoreStats;
  /** The persistent backend of one action's `api.cache`. */
  cacheBackend(action: string): CacheBackend;
  /** Delete what is no longer needed: payloads of finished events, event ids older than the dedupe window. */
  prune(now: number, dedupeWindowMs: number): void;
  /** Cheap write that proves the store is writable (for /readyz). */
  touch(now: number): void;
  close(): void;
}
