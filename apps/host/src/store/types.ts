import type { Auth0Event, CacheRecord } from "@switchyard/core";

// The store contract: what the host, the CLI and the admin API need of durable state. Three engines
// implement it: SQLite (embedded, one host; store/sqlite/, run on a thread of its own by its client.ts),
// PostgreSQL (shared by several replicas; store/postgres) and an in-memory one (store/memory: the executable
// spec, and fast unit tests). Every engine runs the same conformance suite (test/store-conformance.ts). Nothing
// engine-specific appears here: keys are opaque increasing integers, times are epoch milliseconds.

/** One event as the ingest step hands it to the store, with the deliveries it creates. */
export interface IngestEvent {
  /** The store keeps the event's id (for dedupe), type and time beside its JSON. */
  event: Pick<Auth0Event, "id" | "type" | "time">;
  /** The JSON of the event, serialised once. */
  payload: string;
  /**
   * The W3C trace context of the event's intake span (`traceparent`, then `tracestate` after a newline), when
   * the host exports traces: kept with the event and given back with each claim, so that every attempt, on
   * any replica and after a restart, joins the event's trace (telemetry/tracing.ts).
   */
  trace?: string | undefined;
  deliveries: Array<{
    action: string;
    /** Ordering key for actions with `orderBy`, else null. */
    orderKey: string | null;
    /**
     * True when this host holds the delivery in memory and runs it now (engine/tracking.ts). The store must
     * make sure a crash cannot lose it, as its `heldDeliveries` says.
     */
    held: boolean;
  }>;
}

export interface IngestResult {
  /** The store's key of each inserted event, in input order; undefined for a duplicate (id seen before). */
  keys: Array<number | undefined>;
  /**
   * Held deliveries the store wrote as pending rows instead, because an earlier delivery of their action
   * with the same order key waits in the store (pending; on engines shared by replicas, also in flight on
   * another replica): [index of the event, action]. The host must not run them now; they wait their turn in
   * the store. One in flight on this host is not a reason: its runner queues the later ones behind it.
   */
  declined?: Array<[number, string]>;
}

/** A delivery handed to a runner. */
export interface ClaimedDelivery {
  key: number;
  action: string;
  /** Attempts made since it was last due afresh: the retry policy counts these. */
  attempts: number;
  payload: string;
  /**
   * A replayed dead letter: the attempts it had made before (all its replays together), so that the history
   * numbers its attempts on from there; absent when never replayed.
   */
  attemptsBefore?: number;
  /** The event's trace context, as `IngestEvent.trace` stored it (absent when it has none). */
  trace?: string;
  /** The tenant whose event it is, when not `default`: the history records it with each attempt. */
  tenant?: string;
}

/**
 * An attempt's result. `orderKey`: the delivery's order key, for a row the result creates (a delivery held
 * at ingest has none yet): the store orders it as it was ordered at ingest.
 */
export type Completion =
  /**
   * `rowless`: the delivery was held at ingest and never got a row, so there is nothing to delete. Only a
   * `heldDeliveries: watermark` engine reads it; a `row` engine deletes the row whatever it says.
   * `latest`: a `latestWins` action's subject and the event's time (epoch ms): the subject's mark moves to
   * this event unless it already marks a newer one.
   */
  | {
      key: number;
      action: string;
      result: "delivered";
      rowless?: boolean;
      latest?: { subject: string; time: number };
    }
  | {
      key: number;
      action: string;
      result: "retry";
      attempts: number;
      dueAt: number;
      error: string;
      orderKey?: string | null;
    }
  | { key: number; action: string; result: "dead"; attempts: number; error: string; orderKey?: string | null }
  /** A held delivery still running gets a row (in flight), so that its action's watermark can pass it. */
  | { key: number; action: string; result: "running"; attempts: number; orderKey?: string | null };

/**
 * Every delivery of `action` that was held at ingest, for an event up to the key `upto`, has finished or
 * has a row. Deliveries held above it are the ones a crash can interrupt: `recover` gives them rows.
 */
export interface Watermark {
  action: string;
  upto: number;
}

/** Latest wins: the newest event delivered to an action for one subject. */
export interface LatestMark {
  /** Its `time` (epoch ms). */
  time: number;
  /** Its store key (the stream position), which breaks ties of time. */
  key: number;
}

/** A dead letter whose subject has had a newer event delivered to its action since (latest wins). */
export interface SupersededDeadLetter {
  action: string;
  /** The event's tenant: an id may repeat across tenants, so `key` is what a replay leaves out. */
  tenant: string;
  eventId: string;
  /** The store's key of the event (`DeadLetter.key`). */
  key: number;
  /** The newer event's id, when the store still has it. */
  newerEventId?: string | undefined;
  /** The newer event's time (ISO 8601). */
  newerTime: string;
}

/** A dead-lettered delivery, as `switchyard dlq list --json` prints it. */
export interface DeadLetter {
  action: string;
  /** The tenant whose event it is (`default` for a config with the single `source`). */
  tenant: string;
  eventId: string;
  eventType: string;
  attempts: number;
  lastError: string;
  failedAt: string;
  eventTime: string;
  /** The store's key of the event (opaque, increasing): with `failedAt` and `action`, a page's position. */
  key: number;
}

/**
 * Where a page of dead letters ended: its last one's time (epoch ms), event key and action. Dead letters
 * are listed in that order, so the next page starts after it.
 */
export interface DeadLetterPosition {
  failedAt: number;
  key: number;
  action: string;
}

/** Which dead letters an operation touches; every field narrows the selection. */
export interface DeadLetterFilter {
  action?: string | undefined;
  /** Only dead letters of this tenant's events. */
  tenant?: string | undefined;
  eventId?: string | undefined;
  /** An event type pattern: `user.created`, `user.*`, `*`. */
  type?: string | undefined;
  /** Dead-lettered at or after this time (epoch ms). */
  since?: number | undefined;
  /** Dead-lettered before this time (epoch ms). */
  until?: number | undefined;
  /** At most this many (oldest first). */
  limit?: number | undefined;
  /** Only those listed after this position (the next page of `listDead`). */
  after?: DeadLetterPosition | undefined;
}

export interface StoreStats {
  /** Deliveries waiting or in flight, per action. */
  pending: Record<string, number>;
  /** Dead letters per action. */
  dead: Record<string, number>;
}

/** An action's state, kept in the store so that every replica and the CLI see it. */
/** An action's rate limit, in tokens per second. */
export interface RateLimit {
  perSecond: number;
  /** Tokens the bucket holds at most (deliveries that may start at once after a quiet spell), at least 1. */
  burst: number;
}

/** What a take got: `granted` tokens (to use at once), and when fewer than wanted, how long until the next. */
export interface TokenGrant {
  granted: number;
  waitMs: number;
}

/** Where an action's rate-limit tokens come from (engine/rate-limit.ts). A bucket starts full. */
export interface RateBuckets {
  /** Take up to `want` tokens of `action`'s bucket now. */
  take(action: string, limit: RateLimit, want: number): Promise<TokenGrant>;
}

export interface ActionState {
  /** Set by an operator, or by the host after too many consecutive failures. */
  paused: boolean;
  /** Why it was paused (`operator`, or the auto-pause's reason). */
  reason?: string | undefined;
  /** When it was paused, or failed (epoch ms). */
  since?: number | undefined;
  /**
   * Set by a host that could not start the action (its plugin failed to load, or its factory threw): why.
   * Its deliveries wait in the store; the next host that starts it clears this. Not kept beside `paused`.
   */
  failed?: string | undefined;
}

/**
 * An action's circuit breaker on one replica that is not closed (engine/breaker.ts), as the host records it
 * when it changes, so that `actions list` and every replica's console see it. A closed breaker has no record.
 */
export interface BreakerRecord {
  action: string;
  /** The replica (or the single host) whose breaker it is: each replica keeps its own. */
  replica: string;
  /** `open` until `until`; past it, the breaker lets one delivery probe as soon as one is due (half-open). */
  state: "open" | "half-open";
  /** When it took this state (epoch ms, the host's clock). */
  since: number;
  /** Open: when its cool-down ends (epoch ms, the host's clock). */
  until?: number | undefined;
}

/** Where each replica records its breakers' states (engine/pacing.ts), for everyone who reads the state. */
export interface BreakerStore {
  /**
   * Record the state of `record.action`'s breaker on `record.replica`, replacing the one before; `closed`
   * removes it. Transitions are rare (one per cool-down at most), so this is off the delivery path.
   */
  setBreaker(record: BreakerRecord | { action: string; replica: string; state: "closed" }): Promise<void>;
  /**
   * The recorded breakers of replicas that are alive: a replica that stopped without closing its breakers
   * (SIGKILL) is not believed past its liveness (Postgres: its `touch` expired; SQLite: the host's, by its
   * heartbeat or its latest record, older than 15 s).
   */
  breakers(): Promise<BreakerRecord[]>;
  /**
   * A host starts with every breaker closed: forget those `replica` recorded before, and those of every
   * replica that is not alive (SQLite, one host per folder: every record).
   */
  resetBreakers(replica: string): Promise<void>;
}

/**
 * The stream's leader lease, for engines shared by several replicas (Postgres). Exactly one replica reads the
 * stream: the one holding an unexpired lease, by the database's clock. Each takeover increments a fencing
 * token, and an `ingest` that moves the cursor or claims a delivery commits only while this replica still
 * holds the lease with the token it took it with: a deposed or paused leader's ingest rejects with an error
 * whose `code` is `SWITCHYARD_FENCED`, committing nothing. (An ingest with neither, as `send-test` makes,
 * only enqueues deduped events: anyone may.)
 */
export interface Leadership {
  /** This store's replica id (as in `StateStore.replicaId`). */
  readonly replicaId: string;
  /** How long a lease lasts without renewal (ms): the host renews it three times as often. */
  readonly leaseMs: number;
  /** Take the lease if it is free or expired, or renew it if ours, for the store's lease time. True if we hold it. */
  acquire(): Promise<boolean>;
  /** Expire the lease now if we hold it (shutdown), so that a standby takes over at once. */
  release(): Promise<void>;
  /** The replica id holding an unexpired lease, if any. */
  leader(): Promise<string | undefined>;
  /** How many other replicas are alive (their liveness unexpired): those that can take rows from the store. */
  peers(): Promise<number>;
  /**
   * While leading: whether to give this stream up so that streams spread over the replicas (this replica
   * leads two or more more than another live one). A replica that does not take it back for a lease period.
   */
  shouldYield?(): Promise<boolean>;
}

/**
 * The host's durable state: events, deliveries, the stream cursor, dead letters, action states and action
 * caches. Every method that changes state is atomic. An operation that fails rejects; the host stops on a
 * failed write (SQLite) or pauses until the database is back (Postgres), so nothing is lost silently.
 */
export interface StateStore extends HistoryStore, AuditStore, BreakerStore {
  /** `sqlite`, `postgres` or `memory`, for logs and metrics. */
  readonly engine: string;
  /**
   * Engines shared by replicas (Postgres): this store instance's id, which owns the deliveries it holds in
   * flight. `touch` renews its liveness; `recover` on any replica frees the rows of replicas that stopped.
   */
  readonly replicaId?: string;
  /**
   * Engines shared by replicas (Postgres) only: the lease of the tenant `default`'s stream. SQLite has one
   * host per folder, which always reads every stream.
   */
  readonly leadership?: Leadership;
  /** Engines shared by replicas: each tenant's stream has a lease of its own (the same object per tenant). */
  readonly leadershipOf?: (tenant: string) => Leadership;
  /**
   * How the store keeps a delivery the host holds in memory (`IngestEvent.deliveries[].held`) from being lost
   * in a crash (engine/tracking.ts):
   * - `watermark` (SQLite): it writes no row. The event records the actions that hold it, and the host sends,
   *   with each `complete`, each action's watermark (every held delivery at or below it has finished or has
   *   a row) and a `running` row for a held delivery that runs long. `recover` gives a row to every held
   *   delivery above its action's watermark.
   * - `row` (Postgres): it writes the delivery as a row in flight, owned by this replica, which `recover`
   *   makes due again once the replica's liveness expires. The host sends no watermarks.
   */
  readonly heldDeliveries: "watermark" | "row";
  /**
   * Engines shared by replicas (Postgres) only: rate-limit buckets every replica takes from, so that the
   * budget is shared, not multiplied. Without it (SQLite: one host per folder) the host keeps them in memory.
   */
  readonly rateBuckets?: RateBuckets;
  /** Where `tenant`'s stream resumes (default: the tenant `default`, a config's single `source`). */
  getCursor(tenant?: string): Promise<string | undefined>;
  /**
   * Write new events of `tenant` (default `default`), their deliveries and the tenant's new cursor in one
   * transaction. Event ids are deduplicated per tenant. On shared state, moving a cursor is fenced by that
   * tenant's lease (`leadershipOf`).
   */
  ingest(events: readonly IngestEvent[], cursor: string | undefined, tenant?: string): Promise<IngestResult>;
  /**
   * Claim up to `limit` due deliveries of one action, marking them in flight. For an ordered action, in
   * stream order, and a delivery is due only when no earlier one with the same order key waits: pending and
   * not due yet (a retry), or (engines shared by replicas) in flight on another replica. So the rows claimed
   * are, per key, a prefix of its pending ones. One of the key in flight on this host does not hold them
   * back: it is in this host's memory, whose runner queues them behind it (engine/key-turns.ts). Dead
   * letters do not block.
   */
  claim(action: string, limit: number, now: number, ordered: boolean): Promise<ClaimedDelivery[]>;
  /** Record attempt results and move the actions' watermarks, in one transaction. */
  complete(completions: readonly Completion[], watermarks?: readonly Watermark[]): Promise<void>;
  /**
   * Deliveries whose runner is gone become due again: at start (SQLite: everything in flight, and the claims
   * above the watermarks), and for Postgres the in-flight rows of every replica whose liveness has expired
   * (or that has no row: closed); call it at start and periodically on every replica. Returns how many.
   */
  recover(): Promise<number>;
  /** Deliveries not finished yet (pending or in flight), all actions. */
  countUnfinished(): Promise<number>;
  /**
   * Per action, its unfinished deliveries and dead letters: those of `tenant`'s events only, or without one
   * every tenant's.
   */
  stats(tenant?: string): Promise<StoreStats>;

  listDead(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  countDead(filter?: DeadLetterFilter): Promise<number>;
  /**
   * Make matching dead letters due at `now`, attempts reset (and added to `attemptsBefore`), except the
   * `superseded` ones. Returns how many.
   */
  replayDead(
    filter: DeadLetterFilter,
    now: number,
    superseded?: readonly SupersededDeadLetter[],
  ): Promise<number>;
  /**
   * Matching dead letters whose subject (their order key) has a newer event delivered to their action than
   * theirs (by time, then stream position): replaying them would undo that one (latest wins).
   */
  supersededDead(filter: DeadLetterFilter): Promise<SupersededDeadLetter[]>;
  /** Latest wins: the newest event delivered to `action` for `subject`, if any. */
  latestDelivered(action: string, subject: string): Promise<LatestMark | undefined>;
  /** Delete matching dead letters. Returns how many. */
  purgeDead(filter: DeadLetterFilter): Promise<number>;
  /**
   * Delete every delivery of `action` that waits or is dead, every tenant's (not one in flight: its attempt
   * ends as usual): for an action no longer in the config, whose deliveries nothing would run. Returns how many.
   */
  purgeAction(action: string): Promise<number>;

  /** Every action that has a stored state (actions never paused may be absent: they run). */
  actionStates(): Promise<Record<string, ActionState>>;
  setActionState(action: string, state: ActionState): Promise<void>;

  /** One action's persisted `api.cache` entries (read once, at start). */
  loadCache(action: string): Promise<Array<[string, CacheRecord]>>;
  saveCache(action: string, key: string, record: CacheRecord): Promise<void>;
  removeCache(action: string, key: string): Promise<void>;

  /**
   * Delete what is no longer needed: payloads of finished events once they are `keepPayloadsMs` old (by when
   * they were received; 0: at once), and event rows older than both the dedupe window and `keepPayloadsMs`.
   */
  prune(now: number, dedupeWindowMs: number, keepPayloadsMs?: number): Promise<void>;
  /**
   * Cheap write that proves the store is writable (for /readyz). Postgres: also renews this replica's
   * liveness (`expires_at` = the database's now + the replica TTL), so call it well within that TTL.
   */
  touch(now: number): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// Delivery history (the operator console): one row per attempt, written in batches off the delivery path,
// kept for `history.retention` and pruned by `pruneHistory`. A per-minute rollup per action, written in the
// same transaction, answers the console's throughput questions without scanning attempts.

/** What became of one attempt. */
export type AttemptOutcome =
  /** The action finished: the delivery is done. */
  | "delivered"
  /** It failed and will be tried again. */
  | "retrying"
  /** It failed for good (permanent error, or the last attempt): the delivery is a dead letter now. */
  | "dead"
  /**
   * Not run: the action has `latestWins` and a newer event of the same subject (by time, then stream
   * position) was already delivered to it. The delivery is done.
   */
  | "stale"
  /** Not sent: the action's `transform` returned null for the event (its `error` names the transform). Done. */
  | "filtered";

/** One line a file action printed (`console.log` and the like) during an attempt. */
export interface AttemptLogLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  /** When it was printed (epoch ms). */
  at: number;
}

/** One attempt, as the host records it. */
export interface AttemptRecord {
  action: string;
  /**
   * The tenant whose event it is; undefined is `default` (a config's single `source`), which the SQL engines
   * store as NULL, so that a single-tenant host writes nothing more per attempt.
   */
  tenant?: string | undefined;
  eventId: string;
  /**
   * The store's key of the event (`IngestResult.keys`, `ClaimedDelivery.key`), when the host has it. SQLite
   * indexes attempts by it: keys grow, so the index is appended to, where random event ids would dirty a
   * page of it per attempt. Searches still take the event id.
   */
  eventKey?: number | undefined;
  eventType: string;
  /** 1 for the first attempt of the delivery; a replayed dead letter's go on from its earlier ones. */
  attempt: number;
  /** When the attempt started (epoch ms). */
  startedAt: number;
  durationMs: number;
  outcome: AttemptOutcome;
  /** The destination's HTTP status: a failure's, when its error carried one; a delivery's, when its action's
   * `DeliveryReceipt` named one. */
  status?: number | undefined;
  /** The error, redacted and at most 2,000 characters (failed attempts only). */
  error?: string | undefined;
  /** The replica (or the single host) that ran it. */
  replica: string;
  /** What the action printed during the attempt, in order (file actions; absent when it printed nothing). */
  logs?: readonly AttemptLogLine[] | undefined;
}

/** A recorded attempt, with its store id (increasing: newer attempts have larger ids). */
export interface StoredAttempt extends AttemptRecord {
  id: number;
  /** Always set when read back (`default` for attempts recorded without one). */
  tenant: string;
}

/** Which attempts a search returns, newest first; every field narrows it. */
export interface AttemptQuery {
  /** Only attempts of this tenant's events (`default`: a config's single `source`). */
  tenant?: string | undefined;
  /** Only attempts of events with this id; with `tenant`, only that tenant's event (ids repeat across tenants). */
  eventId?: string | undefined;
  /** An event type pattern: `user.created`, `user.*`, `*`. */
  type?: string | undefined;
  action?: string | undefined;
  /** `failed` is `retrying` or `dead` (a `stale` attempt did not fail: it was not run). */
  outcome?: AttemptOutcome | "failed" | undefined;
  /** Started at or after (epoch ms). */
  since?: number | undefined;
  /** Started before (epoch ms). */
  until?: number | undefined;
  /** Only attempts with an id below this (the page cursor: the last id of the previous page). */
  before?: number | undefined;
  /** Page size, 1-500. */
  limit: number;
}

/** One action's attempts in one minute (from the rollup). */
export interface ActivityBucket {
  action: string;
  /** The minute's start (epoch ms, a multiple of 60,000). */
  minute: number;
  delivered: number;
  retrying: number;
  dead: number;
  stale: number;
  /** Sum of the attempts' durations (ms), for the mean. */
  durationMs: number;
}

/**
 * One action's attempts (those that ran: not `stale`) counted by duration: `counts[i]` took at most
 * `LATENCY_BOUNDS[i]` ms (and more than the bound before); the last count, longer than every bound.
 */
export interface ActionLatency {
  action: string;
  counts: number[];
}

/** What the store knows of one delivery that is not finished, or is dead. */
export interface DeliveryState {
  action: string;
  state: "pending" | "in flight" | "dead";
  attempts: number;
  /** When it is due next (pending only, epoch ms). */
  dueAt?: number | undefined;
  lastError?: string | undefined;
}

/** One event as the store still has it. */
export interface EventRecord {
  /** The tenant whose event it is. */
  tenant: string;
  eventId: string;
  type: string;
  /** The event's own `time`. */
  time: string;
  /** When the store received it (epoch ms). */
  receivedAt: number;
  /** The CloudEvent's JSON, while kept (see `prune`'s `keepPayloadsMs`); undefined once pruned. */
  payload?: string | undefined;
  /** Its deliveries that are unfinished or dead (finished ones have no row: see the history). */
  deliveries: DeliveryState[];
}

/** The history part of the store contract (both engines implement it; see the conformance suite). */
export interface HistoryStore {
  /** Append attempts (one transaction: the attempt rows and the per-minute rollup). */
  recordAttempts(records: readonly AttemptRecord[]): Promise<void>;
  /** Attempts matching the query, newest first, at most `limit`. */
  searchAttempts(query: AttemptQuery): Promise<StoredAttempt[]>;
  /**
   * Rollup buckets with `minute >= since`, every action, ordered by minute: `tenant`'s attempts only, or
   * without one every tenant's summed (one bucket per minute and action either way).
   */
  activity(since: number, tenant?: string): Promise<ActivityBucket[]>;
  /**
   * Per action, its attempts' durations since `since` (by minute) as a histogram (history.ts): `tenant`'s
   * attempts only, or without one every tenant's.
   */
  latency(since: number, tenant?: string): Promise<ActionLatency[]>;
  /**
   * One event of `tenant` (default `default`) by its id, with its unfinished and dead deliveries; undefined
   * when the store has no row for it.
   */
  event(eventId: string, tenant?: string): Promise<EventRecord | undefined>;
  /**
   * The tenants that have a stored event with this id, sorted (ids are unique per tenant, so an id alone may
   * name several events).
   */
  eventTenants(eventId: string): Promise<string[]>;
  /** Delete attempts (and rollup buckets) that started before `before`. Returns how many attempts. */
  pruneHistory(before: number): Promise<number>;
}

// ---------------------------------------------------------------------------------------------------------
// The audit log: every change an operator made (pause, resume, replay, purge, a config reload) through the
// CLI, the admin API, the console or a signal, with who made it, and the actions the host paused itself.
// Kept at least as long as the history (see `pruneAudit`).

/** One operator operation, as the host or the CLI records it after it changed the state. */
export interface AuditRecord {
  /** When it was made (epoch ms). */
  at: number;
  /**
   * Who: the admin token's name, `loopback` (the console without a token), `cli:<user>@<host>`,
   * `signal:SIGHUP` (a reload by a bare signal), or `switchyard` (the host, pausing an action after failures).
   */
  actor: string;
  /** What: `pause`, `resume`, `replay`, `purge`, `reload`, `forget` (an action no longer in the config). */
  operation: string;
  /** What it was applied to: the action's name, or the dead letters' selection (plain JSON). */
  selection: Record<string, unknown>;
  /** What it changed, e.g. `{ count: 3 }` dead letters (plain JSON). */
  result: Record<string, unknown>;
}

/** A recorded operation, with its store id (increasing: newer entries have larger ids). */
export interface AuditEntry extends AuditRecord {
  id: number;
}

/** Which entries a search returns, newest first. */
export interface AuditQuery {
  /** Made at or after (epoch ms). */
  since?: number | undefined;
  /** Only entries with an id below this (the page cursor: the last id of the previous page). */
  before?: number | undefined;
  /** Page size, 1-500. */
  limit: number;
}

/** The audit part of the store contract (both engines implement it; see the conformance suite). */
export interface AuditStore {
  recordAudit(record: AuditRecord): Promise<void>;
  /** Entries matching the query, newest first, at most `limit`. */
  searchAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /** Delete entries made before `before`. Returns how many. */
  pruneAudit(before: number): Promise<number>;
}

/** The contract's methods: a `StateStore` without what each engine declares of itself. */
export type StoreMethods = Omit<
  StateStore,
  "engine" | "replicaId" | "leadership" | "leadershipOf" | "heldDeliveries" | "rateBuckets"
>;
