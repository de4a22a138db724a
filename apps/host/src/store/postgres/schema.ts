import type pg from "pg";
import { LATENCY_COLUMNS } from "../history.js";
import { SchemaTooNewError } from "../schema-version.js";

// Versioned migrations. Each is applied once, in order, inside the one transaction that `migrate` opens;
// `schema_version` holds the last applied. Never edit a shipped migration: add the next one.
//
// Layout: events keyed by a bigint identity; deliveries keyed (action, event), with the replica that holds
// one in flight (`owner`). Finished deliveries are deleted, so the pending index stays small. Times the
// store compares with the host's (`due_at`, `updated_at`, `received_at`) are epoch ms from the host; lease
// and liveness times are the database's own clock (timestamptz), so replicas' clocks never disagree.
const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  type text NOT NULL,
  time text NOT NULL,
  received_at bigint NOT NULL,
  payload text
);
CREATE INDEX events_received ON events (received_at);
CREATE INDEX events_with_payload ON events (id) WHERE payload IS NOT NULL;
CREATE TABLE deliveries (
  action text NOT NULL,
  event bigint NOT NULL,
  status smallint NOT NULL,          -- 0 pending, 1 in flight, 3 dead; delivered rows are deleted
  attempts integer NOT NULL DEFAULT 0,
  due_at bigint NOT NULL,
  order_key text,
  last_error text,
  updated_at bigint NOT NULL,
  owner text,                        -- the replica running it (in flight)
  PRIMARY KEY (action, event)
);
CREATE INDEX deliveries_due ON deliveries (action, due_at, event) WHERE status = 0;
CREATE INDEX deliveries_order ON deliveries (action, order_key, event) WHERE order_key IS NOT NULL;
CREATE INDEX deliveries_event ON deliveries (event);
CREATE INDEX deliveries_owner ON deliveries (owner) WHERE status = 1;
CREATE TABLE action_states (action text PRIMARY KEY, paused boolean NOT NULL, reason text, since bigint);
CREATE TABLE cache (
  action text NOT NULL,
  key text NOT NULL,
  value text NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (action, key)
);
CREATE TABLE replicas (id text PRIMARY KEY, expires_at timestamptz NOT NULL);
CREATE TABLE stream_lease (
  id integer PRIMARY KEY CHECK (id = 1),
  holder text,
  token bigint NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO stream_lease (id) VALUES (1);
`,
  // 2: the delivery history (history.ts). Ids are page cursors; event ids and types sort bytewise ("C"), so
  // a type prefix is an index range. Each filter that can be selective has an index ending in id, which
  // answers "newest first" without a sort; time ranges use started_at (pruning too).
  `
CREATE TABLE attempts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  action text NOT NULL,
  event_id text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  attempt integer NOT NULL,
  started_at bigint NOT NULL,
  duration_ms integer NOT NULL,
  outcome smallint NOT NULL,         -- 0 delivered, 1 retrying, 2 dead
  status smallint,
  error text,
  replica text NOT NULL
);
CREATE INDEX attempts_event ON attempts (event_id, id);
CREATE INDEX attempts_type ON attempts (type, action, outcome, id);
CREATE INDEX attempts_action ON attempts (action, outcome, id);
CREATE INDEX attempts_started ON attempts (started_at);
CREATE TABLE attempt_minutes (
  minute bigint NOT NULL,
  action text NOT NULL,
  delivered integer NOT NULL,
  retrying integer NOT NULL,
  dead integer NOT NULL,
  duration_ms bigint NOT NULL,
  PRIMARY KEY (minute, action)
);
`,
  // 3: latest wins, and what a file action printed. `latest` holds, per action and subject, the newest event
  // delivered to it (its time, epoch ms, then its key: the stream position); an older event of the subject
  // is stale for that action. Outcome 3 is `stale`; `logs` is a JSON array of AttemptLogLine.
  `
CREATE TABLE latest (
  action text NOT NULL,
  subject text NOT NULL,
  time bigint NOT NULL,
  event bigint NOT NULL,
  PRIMARY KEY (action, subject)
);
ALTER TABLE attempts ADD COLUMN logs text;
ALTER TABLE attempt_minutes ADD COLUMN stale integer NOT NULL DEFAULT 0;
`,
  // 4: rate limits shared by replicas. One token bucket per action: `tokens` left at `at` (the database's
  // clock), and `granted`, what the last take got (so that one statement can both take and say so).
  `
CREATE TABLE rate_buckets (
  action text PRIMARY KEY,
  tokens double precision NOT NULL,
  granted integer NOT NULL,
  at timestamptz NOT NULL
);
`,
  // 5: the audit log: every operator operation, who made it and what it changed (selection and result are
  // JSON text, written and read whole); the rollup's histogram of attempt durations (history.ts); and a
  // replayed dead letter's attempts before its replays (ClaimedDelivery.attemptsBefore).
  `
CREATE TABLE audit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at bigint NOT NULL,
  actor text NOT NULL,
  operation text NOT NULL,
  selection text NOT NULL,
  result text NOT NULL
);
CREATE INDEX audit_at ON audit (at);
ALTER TABLE deliveries ADD COLUMN attempts_before integer NOT NULL DEFAULT 0;
ALTER TABLE attempt_minutes
  ${LATENCY_COLUMNS.map((c) => `ADD COLUMN ${c} integer NOT NULL DEFAULT 0`).join(",\n  ")};
`,
  // 6: traces. The W3C trace context of each event's intake span, so every attempt joins the event's trace.
  `
ALTER TABLE events ADD COLUMN trace text;
`,
  // 7: each replica's circuit breakers that are not closed (BreakerStore): read by `actions list` and the
  // console, believed only while their replica's liveness (replicas.expires_at) is unexpired.
  `
CREATE TABLE breakers (
  action text NOT NULL,
  replica text NOT NULL,
  state text NOT NULL,               -- open, half-open
  since bigint NOT NULL,
  until bigint,
  PRIMARY KEY (action, replica)
);
`,
  // 8: tenants (config `sources`). Events carry their tenant and their ids are unique per tenant; each
  // tenant's stream has a lease row of its own. What existed belongs to the tenant \`default\`.
  `
ALTER TABLE events ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE events DROP CONSTRAINT events_event_id_key;
ALTER TABLE events ADD CONSTRAINT events_tenant_event_id_key UNIQUE (tenant, event_id);
ALTER TABLE stream_lease ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE stream_lease DROP COLUMN id;
ALTER TABLE stream_lease ADD PRIMARY KEY (tenant);
`,
  // 9: each attempt's tenant (AttemptRecord.tenant). NULL is the tenant \`default\`: a single-tenant host
  // writes nothing more, and the attempts recorded before were its. No index: an index costs every attempt's
  // write, and the tenant narrows what the other filters find.
  `
ALTER TABLE attempts ADD COLUMN tenant text;
`,
  // 10: the per-minute rollup per tenant: keyed (minute, action, tenant), the tenant named, `default` too
  // (history.ts, MinuteBucket). Its rows so far were written before the rollup had tenants: they
  // become `default`'s. A new key, so a new version: an older switchyard's ON CONFLICT (minute, action)
  // would fail every batch.
  `
ALTER TABLE attempt_minutes ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE attempt_minutes DROP CONSTRAINT attempt_minutes_pkey;
ALTER TABLE attempt_minutes ADD PRIMARY KEY (minute, action, tenant);
`,
];

/** The schema version this code writes. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Bring the schema up to date. An advisory lock (per schema) makes replicas that start together take turns:
 * the second finds the work done. A schema newer than this code is refused.
 */
export async function migrate(client: pg.PoolClient, where: string): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('switchyard.migrate:' || current_schema()))");
    await client.query("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)");
    const { rows } = await client.query<{ version: number }>("SELECT version FROM schema_version");
    const current = rows[0]?.version ?? 0;
    if (current > POSTGRES_SCHEMA_VERSION)
      throw new SchemaTooNewError(where, current, POSTGRES_SCHEMA_VERSION);
    for (let version = current + 1; version <= POSTGRES_SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version - 1]!);
    }
    if (rows.length === 0) {
      await client.query("INSERT INTO schema_version (version) VALUES ($1)", [POSTGRES_SCHEMA_VERSION]);
    } else if (current < POSTGRES_SCHEMA_VERSION) {
      await client.query("UPDATE schema_version SET version = $1", [POSTGRES_SCHEMA_VERSION]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}
