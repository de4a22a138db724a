// The per-action states part of the store conformance suite: latest-wins marks, api.cache, paused and failed
// states, breakers and rate-limit buckets. Registered inside `describeStore`, so every engine runs it.
import { beforeEach, describe, expect, it } from "vitest";
import { LocalBuckets } from "../../src/engine/rate-limit.js";
import type { Completion, StateStore } from "../../src/store/types.js";
import { dead, factory, ingestRow, type StoreSuite } from "./shared.js";

/** Register the states, cache, breaker and rate-limit behaviours. */
export function describeStates(suite: StoreSuite): void {
  let store: StateStore;
  const open = suite.open;
  beforeEach(() => {
    store = suite.store();
  });

  it("keeps, per action and subject, the newest delivered event; finds dead letters it supersedes", async () => {
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const ev = (time: string) => factory.event("user.updated", { time, object: { user_id: "auth0|1" } });
    const [older, newer, newest, other] = [ev(t(10)), ev(t(20)), ev(t(30)), ev(t(5))];
    const { keys } = await store.ingest(
      [older, newer, newest, other].map((e) => ingestRow(e, ["s", "n"], { orderKey: "auth0|1" })),
      undefined,
    );
    expect(await store.latestDelivered("s", "auth0|1")).toBeUndefined();
    const mark = (key: number, time: string): Completion => ({
      key,
      action: "s",
      result: "delivered",
      latest: { subject: "auth0|1", time: Date.parse(time) },
    });
    await store.complete([mark(keys[1]!, t(20))]);
    expect(await store.latestDelivered("s", "auth0|1")).toEqual({ time: Date.parse(t(20)), key: keys[1] });
    // An older event delivered later (forced) never moves the mark back; one batch may hold two.
    await store.complete([mark(keys[0]!, t(10)), mark(keys[2]!, t(30)), mark(keys[3]!, t(5))]);
    expect(await store.latestDelivered("s", "auth0|1")).toEqual({ time: Date.parse(t(30)), key: keys[2] });
    expect(await store.latestDelivered("n", "auth0|1")).toBeUndefined();
    expect(await store.latestDelivered("s", "auth0|2")).toBeUndefined();

    // Dead letters of a subject with a newer delivery are superseded; other actions' are not.
    const [late, fresh] = [ev(t(25)), ev(t(40))];
    const more = await store.ingest(
      [late, fresh].map((e) => ingestRow(e, ["s", "n"], { orderKey: "auth0|1" })),
      undefined,
    );
    await store.complete([dead("s", more.keys[0]!), dead("s", more.keys[1]!), dead("n", more.keys[0]!)]);
    // The same event id in another tenant (its subjects are its own): a dead letter that nothing supersedes.
    const dev = await store.ingest([ingestRow(late, ["s"], { orderKey: "dev|auth0|1" })], undefined, "dev");
    await store.complete([dead("s", dev.keys[0]!)]);
    const superseded = await store.supersededDead({});
    expect(superseded).toEqual([
      {
        action: "s",
        tenant: "default",
        eventId: late.id,
        key: more.keys[0],
        newerEventId: newest.id,
        newerTime: t(30),
      },
    ]);
    expect(await store.supersededDead({ action: "n" })).toEqual([]);
    // Replay leaves the superseded ones dead, and only them: not the other tenant's of the same id.
    expect(await store.replayDead({}, Date.now(), superseded)).toBe(3);
    expect((await store.listDead()).map((d) => [d.action, d.eventId])).toEqual([["s", late.id]]);
    expect(await store.replayDead({}, Date.now())).toBe(1);
  });

  it("keeps api.cache entries until they expire or are removed", async () => {
    const now = Date.now();
    await store.saveCache("x", "live", { value: "1", expires_at: now + 60_000 });
    await store.saveCache("x", "old", { value: "2", expires_at: now - 1 });
    await store.saveCache("y", "live", { value: "3", expires_at: now + 60_000 });
    await store.saveCache("x", "live", { value: "4", expires_at: now + 120_000 });
    expect(await store.loadCache("x")).toEqual([["live", { value: "4", expires_at: now + 120_000 }]]);
    await store.removeCache("x", "live");
    expect(await store.loadCache("x")).toEqual([]);
    expect(await store.loadCache("y")).toEqual([["live", { value: "3", expires_at: now + 60_000 }]]);
    await store.prune(now + 120_000, 7 * 86_400_000);
    expect(await store.loadCache("y")).toEqual([]);
  });

  it("stores action states", async () => {
    expect(await store.actionStates()).toEqual({});
    await store.setActionState("x", { paused: true, reason: "operator", since: 1_700_000_000_000 });
    await store.setActionState("y", { paused: false });
    expect(await store.actionStates()).toEqual({
      x: { paused: true, reason: "operator", since: 1_700_000_000_000 },
      y: { paused: false },
    });
    await store.setActionState("x", { paused: false });
    expect((await store.actionStates()).x).toEqual({ paused: false });
  });

  it("stores an action the host could not start, and clears it", async () => {
    await store.setActionState("z", { paused: false, failed: "its factory threw: Error: no", since: 5 });
    expect((await store.actionStates()).z).toEqual({
      paused: false,
      failed: "its factory threw: Error: no",
      since: 5,
    });
    await store.setActionState("z", { paused: false });
    expect((await store.actionStates()).z).toEqual({ paused: false });
  });

  describe("circuit breakers (each replica's, for every reader)", () => {
    it("records a breaker that is not closed, replaces it on a change, and removes it when it closes", async () => {
      // Replica ids must be alive on engines shared by replicas: each store's own.
      const other = await open();
      const me = store.replicaId ?? "host-a";
      const them = other.replicaId ?? "host-b";
      const now = Date.now();
      expect(await store.breakers()).toEqual([]);
      await store.setBreaker({ action: "x", replica: me, state: "open", since: now, until: now + 30_000 });
      await other.setBreaker({ action: "x", replica: them, state: "half-open", since: now });
      await store.setBreaker({ action: "y", replica: me, state: "open", since: now, until: now + 1_000 });
      const byReplica = (records: Awaited<ReturnType<StateStore["breakers"]>>) =>
        [...records].sort((a, b) => `${a.action} ${a.replica}`.localeCompare(`${b.action} ${b.replica}`));
      // Another reader (the CLI opens the state apart from the host) sees them all.
      const reader = await open();
      expect(byReplica(await reader.breakers())).toEqual(
        byReplica([
          { action: "x", replica: me, state: "open", since: now, until: now + 30_000 },
          { action: "x", replica: them, state: "half-open", since: now },
          { action: "y", replica: me, state: "open", since: now, until: now + 1_000 },
        ]),
      );
      await store.setBreaker({ action: "y", replica: me, state: "closed" });
      await store.setBreaker({ action: "x", replica: me, state: "half-open", since: now + 5 });
      expect(byReplica(await reader.breakers())).toEqual(
        byReplica([
          { action: "x", replica: me, state: "half-open", since: now + 5 },
          { action: "x", replica: them, state: "half-open", since: now },
        ]),
      );
      // Closing one that is closed already is no error.
      await store.setBreaker({ action: "y", replica: me, state: "closed" });
    });

    it("forgets at a host's start what its replica recorded before", async () => {
      const me = store.replicaId ?? "host-a";
      const now = Date.now();
      await store.setBreaker({ action: "x", replica: me, state: "open", since: now, until: now + 30_000 });
      await store.setBreaker({ action: "z", replica: me, state: "half-open", since: now });
      await store.resetBreakers(me);
      expect(await store.breakers()).toEqual([]);
    });
  });

  describe("rate-limit buckets (the store's when shared, else the host's in memory)", () => {
    const bucketsOf = (s: StateStore) => s.rateBuckets ?? new LocalBuckets();

    it("grants a full bucket at once, then none, saying how long until the next token", async () => {
      const buckets = bucketsOf(store);
      const limit = { perSecond: 2, burst: 3 };
      expect(await buckets.take("x", limit, 5)).toMatchObject({ granted: 3 });
      const none = await buckets.take("x", limit, 1);
      expect(none.granted).toBe(0);
      expect(none.waitMs).toBeGreaterThan(0);
      expect(none.waitMs).toBeLessThanOrEqual(500);
      // Each action has its own bucket.
      expect(await buckets.take("y", limit, 1)).toEqual({ granted: 1, waitMs: 0 });
    });

    it("refills at the limit's rate", async () => {
      const buckets = bucketsOf(store);
      const limit = { perSecond: 50, burst: 1 };
      const started = Date.now();
      let granted = 0;
      while (granted < 6) {
        const grant = await buckets.take("x", limit, 1);
        granted += grant.granted;
        if (grant.granted === 0) await new Promise((resolve) => setTimeout(resolve, grant.waitMs));
      }
      // The first token at once, the next five at 20 ms each.
      expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    });

    it("grants each token once among concurrent takers (replicas share the budget)", async () => {
      // Engines shared by replicas: a second instance on the same state takes from the same bucket.
      const a = bucketsOf(store);
      const b = store.rateBuckets ? bucketsOf(await open()) : a;
      const limit = { perSecond: 0.001, burst: 7 };
      const grants = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).take("x", limit, 1)),
      );
      expect(grants.reduce((sum, g) => sum + g.granted, 0)).toBe(7);
    });
  });
}
