// The delivery-history part of the store conformance suite (HistoryStore in src/store/types.ts): registered
// inside `describeStore`, so every engine runs it.
import { createEventFactory } from "@switchyard/testing";
import { expect, it } from "vitest";
import { LATENCY_BOUNDS, LATENCY_COLUMNS } from "../../src/store/history.js";
import type { ActivityBucket, AttemptQuery, AttemptRecord, StoredAttempt } from "../../src/store/types.js";
import { ingestRow, type StoreSuite } from "./shared.js";

const factory = createEventFactory({ seed: 57 });
const MINUTE = 60_000;
/** A minute boundary well in the past, so tests' times never collide with the clock. */
const T0 = 1_700_000_040_000;

const attempt = (overrides: Partial<AttemptRecord> = {}): AttemptRecord => ({
  action: "x",
  eventId: "evt_1",
  eventType: "user.created",
  attempt: 1,
  startedAt: T0,
  durationMs: 12,
  outcome: "delivered",
  replica: "r1",
  ...overrides,
});

/** What a search must return, computed from the records in the order they were recorded. */
function expected(records: readonly StoredAttempt[], q: AttemptQuery): number[] {
  const typeMatches = (type: string) =>
    q.type === undefined || q.type === "*"
      ? true
      : q.type.endsWith(".*")
        ? type.startsWith(q.type.slice(0, -1))
        : type === q.type;
  return records
    .filter(
      (r) =>
        (q.eventId === undefined || r.eventId === q.eventId) &&
        (q.tenant === undefined || r.tenant === q.tenant) &&
        typeMatches(r.eventType) &&
        (q.action === undefined || r.action === q.action) &&
        (q.outcome === undefined ||
          (q.outcome === "failed"
            ? r.outcome === "retrying" || r.outcome === "dead"
            : r.outcome === q.outcome)) &&
        (q.since === undefined || r.startedAt >= q.since) &&
        (q.until === undefined || r.startedAt < q.until) &&
        (q.before === undefined || r.id < q.before),
    )
    .map((r) => r.id)
    .sort((a, b) => b - a)
    .slice(0, q.limit);
}

/** Register the history behaviours; `current` is the test's open store. */
export function describeHistory({ store: current }: StoreSuite): void {
  it("records attempts and reads back every field, newest first", async () => {
    const store = current();
    const records = [
      attempt(),
      attempt({
        action: "y",
        eventId: "evt_2",
        eventType: "organization.member.added",
        attempt: 3,
        startedAt: T0 + 1_500,
        durationMs: 2_345,
        outcome: "dead",
        status: 422,
        error: "PermanentError: 422 Unprocessable",
        replica: "r2",
      }),
      attempt({ outcome: "retrying", error: "timeout", startedAt: T0 + 2_000 }),
      attempt({
        eventId: "evt_3",
        startedAt: T0 + 3_000,
        logs: [
          { level: "info", message: "POST /Users 201", at: T0 + 3_001 },
          { level: "error", message: 'quotes " and\nnewlines, ünïcødé', at: T0 + 3_002 },
        ],
      }),
      attempt({ eventId: "evt_4", startedAt: T0 + 4_000, outcome: "stale" }),
    ];
    await store.recordAttempts(records);
    await store.recordAttempts([]);
    const found = await store.searchAttempts({ limit: 10 });
    // Recorded without a tenant, they are the tenant `default`'s.
    expect(found.map(({ id, ...rest }) => rest)).toEqual(
      records.toReversed().map((r) => ({ ...r, tenant: "default" })),
    );
    expect(found[0]!.id).toBeGreaterThan(found[1]!.id);
    expect(found[1]!.id).toBeGreaterThan(found[2]!.id);
    expect(found.every((a) => Number.isInteger(a.id))).toBe(true);
    expect(found[4]).not.toHaveProperty("status");
    expect(found[4]).not.toHaveProperty("error");
    expect(found[4]).not.toHaveProperty("logs");
  });

  it("filters attempts by every field and their combinations", async () => {
    const store = current();
    const types = [
      "user.created",
      "user.deleted",
      "organization.member.added",
      "user_x.created",
      "connection.updated",
    ];
    const outcomes = ["delivered", "delivered", "retrying", "dead", "stale"] as const;
    const records: AttemptRecord[] = [];
    for (let i = 0; i < 60; i++) {
      records.push(
        attempt({
          action: ["x", "y", "z"][i % 3]!,
          eventId: `evt_${i % 7}`,
          eventType: types[i % types.length]!,
          attempt: 1 + (i % 4),
          startedAt: T0 + i * 10_000,
          outcome: outcomes[i % outcomes.length]!,
          // Two tenants besides `default` (recorded as nothing, or by its name).
          tenant: [undefined, "beta", undefined, "default", "gamma"][i % 5],
        }),
      );
    }
    // Two batches: ids keep growing across them.
    await store.recordAttempts(records.slice(0, 25));
    await store.recordAttempts(records.slice(25));
    const all = (await store.searchAttempts({ limit: 500 })).toReversed();
    expect(all).toHaveLength(60);
    const mid = all[30]!.id;
    const queries: AttemptQuery[] = [
      { limit: 500 },
      { eventId: "evt_3", limit: 500 },
      { eventId: "evt_none", limit: 500 },
      { tenant: "beta", limit: 500 },
      { tenant: "default", limit: 500 },
      { tenant: "gamma", limit: 3 },
      { tenant: "nobody", limit: 500 },
      { tenant: "beta", eventId: "evt_3", limit: 500 },
      { tenant: "default", eventId: "evt_3", limit: 500 },
      { tenant: "beta", action: "y", outcome: "failed", limit: 500 },
      { tenant: "gamma", type: "user.*", since: T0 + 100_000, limit: 500 },
      { tenant: "default", before: mid, limit: 5 },
      { type: "user.created", limit: 500 },
      { type: "user.*", limit: 500 },
      { type: "organization.*", limit: 500 },
      { type: "*", limit: 500 },
      { type: "user", limit: 500 },
      { type: "nothing.*", limit: 500 },
      { action: "y", limit: 500 },
      { action: "never-seen", limit: 500 },
      { outcome: "delivered", limit: 500 },
      { outcome: "retrying", limit: 500 },
      { outcome: "dead", limit: 500 },
      { outcome: "stale", limit: 500 },
      { outcome: "failed", limit: 500 },
      { since: T0 + 100_000, limit: 500 },
      { until: T0 + 100_000, limit: 500 },
      { since: T0 + 100_000, until: T0 + 300_000, limit: 500 },
      { before: mid, limit: 500 },
      { limit: 3 },
      { action: "x", outcome: "failed", type: "user.*", limit: 500 },
      { action: "z", eventId: "evt_2", since: T0 + 50_000, limit: 500 },
      { type: "user.*", outcome: "dead", until: T0 + 400_000, before: mid, limit: 4 },
      {
        action: "y",
        type: "connection.updated",
        outcome: "delivered",
        since: T0,
        until: T0 + 600_000,
        limit: 500,
      },
    ];
    for (const q of queries) {
      const ids = (await store.searchAttempts(q)).map((a) => a.id);
      expect({ q, ids }).toEqual({ q, ids: expected(all, q) });
    }
    // The reference agrees with a few hand counts.
    expect(expected(all, { type: "user.*", limit: 500 })).toHaveLength(24);
    expect(expected(all, { outcome: "failed", limit: 500 })).toHaveLength(24);
    expect(expected(all, { outcome: "stale", limit: 500 })).toHaveLength(12);
    expect(expected(all, { type: "user", limit: 500 })).toHaveLength(0);
  });

  it("finds matches that lie below thousands of newer attempts", async () => {
    const store = current();
    const old = Array.from({ length: 40 }, (_, i) =>
      attempt({
        action: i % 2 ? "rare" : "x",
        eventId: `evt_old_${i}`,
        eventType: i % 4 ? "group.created" : "user.created",
        startedAt: T0 + i * 1_000,
        outcome: i % 3 ? "delivered" : "dead",
      }),
    );
    await store.recordAttempts(old);
    // Newer attempts that match none of the searches below, more than an engine may scan before using an index.
    for (let batch = 0; batch < 12; batch++) {
      await store.recordAttempts(
        Array.from({ length: 500 }, (_, i) =>
          attempt({ eventId: `evt_new_${batch}_${i}`, startedAt: T0 + 3_600_000 + batch * 500 + i }),
        ),
      );
    }
    const stored = (await store.searchAttempts({ limit: 500, until: T0 + 60_000 })).toReversed();
    expect(stored.map((a) => a.eventId)).toEqual(old.map((a) => a.eventId));
    const queries: AttemptQuery[] = [
      { action: "rare", limit: 50 },
      { action: "rare", limit: 7 },
      { outcome: "dead", limit: 50 },
      { type: "group.*", outcome: "failed", limit: 50 },
      { since: T0 + 10_000, until: T0 + 30_000, limit: 50 },
      { since: T0 + 10_000, until: T0 + 30_000, action: "x", limit: 5 },
      { until: T0 + 20_000, type: "user.*", limit: 50 },
      { action: "rare", before: stored[21]!.id, limit: 50 },
    ];
    for (const q of queries) {
      const ids = (await store.searchAttempts(q)).map((a) => a.id);
      expect({ q, ids }).toEqual({ q, ids: expected(stored, q) });
    }
  });

  it("finds an event's attempts by its id, recorded with the event's key or without one", async () => {
    const store = current();
    const [first, second] = factory.many(2);
    const { keys } = await store.ingest([ingestRow(first!, ["x"]), ingestRow(second!, ["x"])], undefined);
    // As the host records them (with the key), interleaved with another event's, and one without a key.
    const records = [
      attempt({ eventId: first!.id, eventKey: keys[0], action: "x" }),
      attempt({ eventId: second!.id, eventKey: keys[1], action: "x" }),
      attempt({ eventId: first!.id, action: "y" }),
      attempt({ eventId: first!.id, eventKey: keys[0], action: "x", attempt: 2, outcome: "retrying" }),
    ];
    await store.recordAttempts(records);
    const all = (await store.searchAttempts({ limit: 10 })).toReversed();
    const ids = (eventId: string) =>
      all
        .filter((a) => a.eventId === eventId)
        .map((a) => a.id)
        .toReversed();
    for (const eventId of [first!.id, second!.id]) {
      expect((await store.searchAttempts({ eventId, limit: 10 })).map((a) => a.id)).toEqual(ids(eventId));
    }
    expect(
      (await store.searchAttempts({ eventId: first!.id, action: "x", limit: 1 })).map((a) => a.id),
    ).toEqual([all[3]!.id]);
    expect(await store.searchAttempts({ eventId: "evt_unknown", limit: 10 })).toEqual([]);
  });

  it("keeps each attempt's tenant; an event id with a tenant is only that tenant's event", async () => {
    const store = current();
    const [shared, other] = factory.many(2);
    // The same id in two tenants is two events (ids are unique per tenant).
    const home = (await store.ingest([ingestRow(shared!, ["x"]), ingestRow(other!, ["x"])], undefined)).keys;
    const dev = (await store.ingest([ingestRow(shared!, ["x"])], undefined, "dev")).keys;
    expect(await store.eventTenants(shared!.id)).toEqual(["default", "dev"]);
    expect(await store.eventTenants(other!.id)).toEqual(["default"]);
    expect(await store.eventTenants("evt_unknown")).toEqual([]);
    // A claim says whose event it is (nothing for `default`), as the host records it with each attempt.
    const claimed = await store.claim("x", 10, Date.now(), false);
    const tenantOf = (key: number) => claimed.find((c) => c.key === key);
    expect(tenantOf(dev[0]!)).toMatchObject({ tenant: "dev" });
    expect(tenantOf(home[0]!)).not.toHaveProperty("tenant");
    expect(tenantOf(home[1]!)).not.toHaveProperty("tenant");

    await store.recordAttempts([
      attempt({ eventId: shared!.id, eventKey: home[0], startedAt: T0 }),
      attempt({ eventId: shared!.id, eventKey: dev[0], tenant: "dev", startedAt: T0 + 1 }),
      attempt({ eventId: other!.id, eventKey: home[1], startedAt: T0 + 2 }),
      // Without a key, as a host that did not have it recorded it.
      attempt({ eventId: shared!.id, tenant: "dev", action: "y", startedAt: T0 + 3 }),
      attempt({ eventId: shared!.id, action: "y", startedAt: T0 + 4 }),
    ]);
    const seen = async (q: Omit<AttemptQuery, "limit">) =>
      (await store.searchAttempts({ ...q, limit: 10 })).map((a) => [a.tenant, a.eventId, a.action]);
    expect(await seen({ tenant: "dev" })).toEqual([
      ["dev", shared!.id, "y"],
      ["dev", shared!.id, "x"],
    ]);
    expect(await seen({ tenant: "default" })).toEqual([
      ["default", shared!.id, "y"],
      ["default", other!.id, "x"],
      ["default", shared!.id, "x"],
    ]);
    expect(await seen({ eventId: shared!.id })).toEqual([
      ["default", shared!.id, "y"],
      ["dev", shared!.id, "y"],
      ["dev", shared!.id, "x"],
      ["default", shared!.id, "x"],
    ]);
    expect(await seen({ eventId: shared!.id, tenant: "dev" })).toEqual([
      ["dev", shared!.id, "y"],
      ["dev", shared!.id, "x"],
    ]);
    expect(await seen({ eventId: shared!.id, tenant: "default", action: "x" })).toEqual([
      ["default", shared!.id, "x"],
    ]);
    expect(await seen({ eventId: other!.id, tenant: "dev" })).toEqual([]);
    expect(await seen({ eventId: shared!.id, tenant: "nobody" })).toEqual([]);

    // The event itself: the tenant's (default: `default`), with that event's deliveries only.
    await store.complete([
      { key: dev[0]!, action: "x", result: "dead", attempts: 1, error: "PermanentError" },
    ]);
    expect(await store.event(shared!.id, "dev")).toMatchObject({
      tenant: "dev",
      eventId: shared!.id,
      deliveries: [{ action: "x", state: "dead" }],
    });
    expect(await store.event(shared!.id)).toMatchObject({
      tenant: "default",
      deliveries: [{ action: "x", state: "in flight" }],
    });
    expect(await store.event(other!.id, "dev")).toBeUndefined();
  });

  it("pages through attempts with the id cursor, without duplicates or gaps", async () => {
    const store = current();
    const records = Array.from({ length: 23 }, (_, i) =>
      attempt({ eventId: `evt_${i}`, startedAt: T0 + i, outcome: i % 2 ? "retrying" : "dead" }),
    );
    await store.recordAttempts(records);
    const pages: StoredAttempt[][] = [];
    let before: number | undefined;
    for (;;) {
      const page = await store.searchAttempts({ outcome: "failed", limit: 5, before });
      if (page.length === 0) break;
      pages.push(page);
      before = page.at(-1)!.id;
    }
    expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 3]);
    expect(pages.flat().map((a) => a.eventId)).toEqual(records.map((r) => r.eventId).toReversed());
  });

  it("sums attempts per action and minute, across batches", async () => {
    const store = current();
    await store.recordAttempts([
      attempt({ startedAt: T0 + 1_000, durationMs: 10 }),
      attempt({ startedAt: T0 + 59_999, durationMs: 20, outcome: "retrying" }),
      attempt({ action: "y", startedAt: T0 + 2_000, durationMs: 5, outcome: "dead" }),
      attempt({ startedAt: T0 - 1, durationMs: 1 }),
    ]);
    await store.recordAttempts([
      attempt({ startedAt: T0 + 30_000, durationMs: 100 }),
      attempt({ startedAt: T0 + MINUTE, durationMs: 7, outcome: "dead" }),
      attempt({ startedAt: T0 + MINUTE + 1, durationMs: 0, outcome: "stale" }),
    ]);
    await store.recordAttempts([attempt({ startedAt: T0 + MINUTE + 2, durationMs: 1, outcome: "stale" })]);
    expect(await store.activity(T0)).toEqual([
      { action: "x", minute: T0, delivered: 2, retrying: 1, dead: 0, stale: 0, durationMs: 130 },
      { action: "y", minute: T0, delivered: 0, retrying: 0, dead: 1, stale: 0, durationMs: 5 },
      { action: "x", minute: T0 + MINUTE, delivered: 0, retrying: 0, dead: 1, stale: 2, durationMs: 8 },
    ]);
    expect(await store.activity(T0 - MINUTE)).toHaveLength(4);
    expect(await store.activity(T0 + 2 * MINUTE)).toEqual([]);
  });

  it("keeps an attempt its transform filtered: found by its outcome, never as failed, not in the rollup", async () => {
    const store = current();
    const reason = "filtered by transform ./shape.js (it returned null)";
    await store.recordAttempts([
      attempt({ startedAt: T0 + 1_000, durationMs: 10 }),
      attempt({ eventId: "evt_2", startedAt: T0 + 2_000, durationMs: 3, outcome: "filtered", error: reason }),
      attempt({ eventId: "evt_3", startedAt: T0 + 3_000, durationMs: 5, outcome: "dead", error: "boom" }),
    ]);
    const filtered = await store.searchAttempts({ outcome: "filtered", limit: 10 });
    expect(filtered.map(({ eventId, outcome, error }) => ({ eventId, outcome, error }))).toEqual([
      { eventId: "evt_2", outcome: "filtered", error: reason },
    ]);
    const failed = await store.searchAttempts({ outcome: "failed", limit: 10 });
    expect(failed.map((a) => a.eventId)).toEqual(["evt_3"]);
    expect((await store.searchAttempts({ action: "x", limit: 10 })).map((a) => a.outcome)).toEqual([
      "dead",
      "filtered",
      "delivered",
    ]);
    expect(await store.activity(T0)).toEqual([
      { action: "x", minute: T0, delivered: 1, retrying: 0, dead: 1, stale: 0, durationMs: 15 },
    ]);
  });

  it("counts each action's attempt durations in a histogram per minute, across batches; stale ones did not run", async () => {
    const store = current();
    const histogram = (entries: Record<number, number>) => LATENCY_COLUMNS.map((_, i) => entries[i] ?? 0);
    await store.recordAttempts([
      attempt({ startedAt: T0 + 1_000, durationMs: 3 }),
      attempt({ startedAt: T0 + 2_000, durationMs: 5 }),
      attempt({ startedAt: T0 + 3_000, durationMs: 5.4, outcome: "retrying" }),
      attempt({ action: "y", startedAt: T0 + 4_000, durationMs: 60_000, outcome: "dead" }),
      attempt({ startedAt: T0 - 1, durationMs: 700 }),
    ]);
    await store.recordAttempts([
      attempt({ startedAt: T0 + MINUTE, durationMs: 30 }),
      attempt({ startedAt: T0 + MINUTE + 1, durationMs: 0, outcome: "stale" }),
    ]);
    const byAction = async (since: number) =>
      Object.fromEntries((await store.latency(since)).map((l) => [l.action, l.counts]));
    // 3 and 5 ms in the first bucket (at most 5), 5.4 in the second, 30 in (25, 50], 60 s past every bound.
    expect(await byAction(T0)).toEqual({
      x: histogram({ 0: 2, 1: 1, 3: 1 }),
      y: histogram({ [LATENCY_BOUNDS.length]: 1 }),
    });
    expect((await byAction(T0 - MINUTE)).x).toEqual(histogram({ 0: 2, 1: 1, 3: 1, 7: 1 }));
    expect(await byAction(T0 + MINUTE)).toEqual({ x: histogram({ 3: 1 }) });
    expect(await store.latency(T0 + 2 * MINUTE)).toEqual([]);
    await store.pruneHistory(T0 + MINUTE);
    expect(await byAction(0)).toEqual({ x: histogram({ 3: 1 }) });
  });

  it("keeps the rollup per tenant: one tenant's activity and latency, or every tenant's summed", async () => {
    const store = current();
    const histogram = (entries: Record<number, number>) => LATENCY_COLUMNS.map((_, i) => entries[i] ?? 0);
    // x serves default (recorded with no tenant, and by name) and prod; y serves dev.
    await store.recordAttempts([
      attempt({ startedAt: T0 + 1_000, durationMs: 3 }),
      attempt({ startedAt: T0 + 2_000, durationMs: 30, tenant: "prod" }),
      attempt({ startedAt: T0 + 3_000, durationMs: 700, outcome: "retrying", tenant: "prod" }),
      attempt({ action: "y", startedAt: T0 + 4_000, durationMs: 7, outcome: "dead", tenant: "dev" }),
    ]);
    await store.recordAttempts([
      attempt({ startedAt: T0 + 5_000, durationMs: 4, tenant: "default" }),
      attempt({ startedAt: T0 + MINUTE, durationMs: 0, outcome: "stale", tenant: "prod" }),
    ]);
    const bucket = (action: string, minute: number, counts: Partial<ActivityBucket>): ActivityBucket => ({
      action,
      minute,
      delivered: 0,
      retrying: 0,
      dead: 0,
      stale: 0,
      durationMs: 0,
      ...counts,
    });
    expect(await store.activity(T0)).toEqual([
      bucket("x", T0, { delivered: 3, retrying: 1, durationMs: 737 }),
      bucket("y", T0, { dead: 1, durationMs: 7 }),
      bucket("x", T0 + MINUTE, { stale: 1 }),
    ]);
    expect(await store.activity(T0, "prod")).toEqual([
      bucket("x", T0, { delivered: 1, retrying: 1, durationMs: 730 }),
      bucket("x", T0 + MINUTE, { stale: 1 }),
    ]);
    expect(await store.activity(T0, "default")).toEqual([bucket("x", T0, { delivered: 2, durationMs: 7 })]);
    expect(await store.activity(T0, "dev")).toEqual([bucket("y", T0, { dead: 1, durationMs: 7 })]);
    expect(await store.activity(T0, "staging")).toEqual([]);

    const byAction = async (since: number, tenant?: string) =>
      Object.fromEntries((await store.latency(since, tenant)).map((l) => [l.action, l.counts]));
    // 3 and 4 ms in the first bucket (at most 5), 7 in the second, 30 in (25, 50], 700 in (500, 1000].
    expect(await byAction(T0)).toEqual({
      x: histogram({ 0: 2, 3: 1, 7: 1 }),
      y: histogram({ 1: 1 }),
    });
    expect(await byAction(T0, "prod")).toEqual({ x: histogram({ 3: 1, 7: 1 }) });
    expect(await byAction(T0, "default")).toEqual({ x: histogram({ 0: 2 }) });
    expect(await byAction(T0, "dev")).toEqual({ y: histogram({ 1: 1 }) });
    expect(await store.latency(T0, "staging")).toEqual([]);

    // Pruning goes by minute, every tenant's buckets alike.
    await store.pruneHistory(T0 + MINUTE);
    expect(await store.activity(0, "prod")).toEqual([bucket("x", T0 + MINUTE, { stale: 1 })]);
    expect(await store.activity(0, "default")).toEqual([]);
  });

  it("prunes attempts and rollup buckets older than a time", async () => {
    const store = current();
    await store.recordAttempts(
      Array.from({ length: 30 }, (_, i) => attempt({ eventId: `evt_${i}`, startedAt: T0 + i * 10_000 })),
    );
    expect(await store.pruneHistory(T0)).toBe(0);
    // Attempts 0-11 started before T0 + 2 min; the buckets of minutes 0 and 1 end by then.
    expect(await store.pruneHistory(T0 + 2 * MINUTE)).toBe(12);
    const left = await store.searchAttempts({ limit: 500 });
    expect(left.map((a) => a.eventId).toReversed()).toEqual(
      Array.from({ length: 18 }, (_, i) => `evt_${i + 12}`),
    );
    expect((await store.activity(0)).map((b) => b.minute)).toEqual([
      T0 + 2 * MINUTE,
      T0 + 3 * MINUTE,
      T0 + 4 * MINUTE,
    ]);
    // New attempts still get ids above every earlier one, even once all are pruned.
    const last = left[0]!.id;
    expect(await store.pruneHistory(T0 + 10 * MINUTE)).toBe(18);
    await store.recordAttempts([attempt()]);
    expect((await store.searchAttempts({ limit: 1 }))[0]!.id).toBeGreaterThan(last);
  });

  it("shows an event with its pending and dead deliveries; none for an unknown id", async () => {
    const store = current();
    const pending = factory.byType["user.created"]();
    const deadOne = factory.byType["user.deleted"]();
    const { keys } = await store.ingest(
      [ingestRow(pending, ["x", "y"]), ingestRow(deadOne, ["x"])],
      undefined,
    );
    expect(await store.event("evt_unknown")).toBeUndefined();

    const shown = await store.event(pending.id);
    expect(shown).toMatchObject({
      eventId: pending.id,
      type: "user.created",
      time: pending.time,
      payload: JSON.stringify(pending),
    });
    expect(Math.abs(shown!.receivedAt - Date.now())).toBeLessThan(60_000);
    expect(shown!.deliveries).toEqual([
      { action: "x", state: "pending", attempts: 0, dueAt: expect.any(Number) },
      { action: "y", state: "pending", attempts: 0, dueAt: expect.any(Number) },
    ]);

    // Claimed by x: in flight. Dead for the other event.
    const claimed = await store.claim("x", 10, Date.now(), false);
    expect(claimed).toHaveLength(2);
    await store.complete([
      { key: keys[1]!, action: "x", result: "dead", attempts: 3, error: "PermanentError: 400" },
    ]);
    expect((await store.event(pending.id))!.deliveries).toEqual([
      { action: "x", state: "in flight", attempts: 0 },
      { action: "y", state: "pending", attempts: 0, dueAt: expect.any(Number) },
    ]);
    expect(await store.event(deadOne.id)).toMatchObject({
      type: "user.deleted",
      payload: JSON.stringify(deadOne),
      deliveries: [{ action: "x", state: "dead", attempts: 3, lastError: "PermanentError: 400" }],
    });
  });

  it("keeps a finished event's payload for keepPayloadsMs, its row for the longer of that and the dedupe window", async () => {
    const store = current();
    const [kept, newer] = factory.many(2);
    const { keys } = await store.ingest([ingestRow(kept!, ["x"]), ingestRow(newer!, ["x"])], undefined);
    await store.claim("x", 10, Date.now(), false);
    await store.complete(keys.map((key) => ({ key: key!, action: "x", result: "delivered" as const })));
    const now = Date.now();
    const hour = 3_600_000;

    await store.prune(now + hour / 2, 60_000, hour);
    expect((await store.event(kept!.id))?.payload).toBe(JSON.stringify(kept));
    await store.prune(now + 2 * hour, 3 * hour, hour);
    const pruned = await store.event(kept!.id);
    expect(pruned).toMatchObject({ eventId: kept!.id, type: kept!.type, deliveries: [] });
    expect(pruned).not.toHaveProperty("payload");
    // Still deduped, then forgotten past the dedupe window.
    expect((await store.ingest([ingestRow(kept!, ["x"])], undefined)).keys).toEqual([undefined]);
    await store.prune(now + 4 * hour, 3 * hour, hour);
    expect(await store.event(kept!.id)).toBeUndefined();
  });

  it("drops a finished event's payload at once without keepPayloadsMs", async () => {
    const store = current();
    const [done, newer] = factory.many(2);
    const { keys } = await store.ingest([ingestRow(done!, ["x"]), ingestRow(newer!, ["y"])], undefined);
    await store.claim("x", 10, Date.now(), false);
    await store.complete([{ key: keys[0]!, action: "x", result: "delivered" }]);
    await store.prune(Date.now(), 60_000);
    expect(await store.event(done!.id)).toEqual({
      tenant: "default",
      eventId: done!.id,
      type: done!.type,
      time: done!.time,
      receivedAt: expect.any(Number),
      deliveries: [],
    });
    expect((await store.event(newer!.id))?.payload).toBe(JSON.stringify(newer));
  });
}
