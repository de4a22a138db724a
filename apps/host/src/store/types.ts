import type { Auth0Event, CacheBackend, CacheRecord } from "@switchyard/core";

/** One event as the ingest path hands it to the store, with the deliveries it creates. */
export interface IngestEvent {
  /** The store keeps the event's id (for dedupe), type and time beside its JSON. */
  event: Pick<Auth0Event, "id" | "type" | "time">;
  /** The JSON of the event, serialised once. */
  payload: string;
  deliveries: Array<{
    action: string;
    /** Ordering key for actions with `orderBy`, else null. */
    orderKey: string | null;
    /**
     * True when the host holds this delivery in memory and runs it now. Such a delivery gets no row: the event
     * records the claim, and the action's watermark (see `Store.complete`) passes it once it has finished or
     * has a row. A row is written only if it must be retried, is dead-lettered, or runs long.
     */
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
  /** `rowless`: the delivery was claimed at ingest and never got a row, so there is nothing to delete. */
  | { key: number; action: string; result: "delivered"; rowless?: boolean }
  | { key: number; action: string; result: "retry"; attempts: number; dueAt: number; error: string }
  | { key: number; action: string; result: "dead"; attempts: number; error: string }
  /** A claimed delivery still running gets a row (in flight), so that its action's watermark can pass it. */
  | { key: number; action: string; result: "running"; attempts: number };

/**
 * Every delivery of `action` that was claimed at ingest, for an event up to the key `upto`, has finished or
 * has a row. Deliveries claimed above it are the ones a crash can interrupt: `recover` gives them rows.
 */
export interface Watermark {
  action: string;
  upto: number;
}

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
  /** Record attempt results and move the actions' watermarks, in one transaction. */
  complete(completions: readonly Completion[], watermarks?: readonly Watermark[]): void;
  /**
   * At start: deliveries left in flight by a previous run become due again, and so do the claimed ones its
   * watermarks had not passed (they get rows). Returns how many.
   */
  recover(): number;
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

/**
 * The store as the running host uses it: the same operations, answered asynchronously, because the host
 * keeps SQLite on a thread of its own (store/client.ts) so that its thread is free for deliveries. An
 * operation that fails rejects; the host stops on a failed write, so that nothing is lost silently.
 */
export interface HostStore {
  getCursor(): Promise<string | undefined>;
  ingest(events: readonly IngestEvent[], cursor: string | undefined): Promise<IngestResult>;
  claim(action: string, limit: number, now: number, ordered: boolean): Promise<ClaimedDelivery[]>;
  complete(completions: readonly Completion[], watermarks?: readonly Watermark[]): Promise<void>;
  recover(): Promise<number>;
  countUnfinished(): Promise<number>;
  stats(): Promise<StoreStats>;
  /** One action's persisted `api.cache` entries (read once, at start). */
  loadCache(action: string): Promise<Array<[string, CacheRecord]>>;
  saveCache(action: string, key: string, record: CacheRecord): Promise<void>;
  removeCache(action: string, key: string): Promise<void>;
  prune(now: number, dedupeWindowMs: number): Promise<void>;
  touch(now: number): Promise<void>;
  close(): Promise<void>;
}
