// The store conformance suite: every behaviour of the StateStore contract (src/store/types.ts), run against
// each engine, as unstorage's `testDriver` runs every driver. Engine-only details stay in each engine's tests.
import type { Auth0Event } from "@switchyard/core";
import { createEventFactory, waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalBuckets } from "../src/engine/rate-limit.js";
import type { Completion, DeadLetterPosition, IngestEvent, StateStore } from "../src/store/types.js";
import { describeAudit } from "./audit-conformance.js";
import { describeHistory } from "./history-conformance.js";

/** One test's state: `open` opens it (again after a close: the same state); `dispose` removes it. */
export interface StoreHarness {
  open(): Promise<StateStore>;
  dispose(): Promise<void>;
}

const factory = createEventFactory({ seed: 21 });

/** An ingest row: `event` delivered to `actions`. */
export const ingestRow = (
  event: Auth0Event,
  actions: string[],
  options: { held?: boolean; orderKey?: string | null } = {},
): IngestEvent => ({
  event,
  payload: JSON.stringify(event),
  deliveries: actions.map((action) => ({
    action,
    orderKey: options.orderKey ?? null,
    held: options.held ?? false,
  })),
});

const idOf = (payload: string) => (JSON.parse(payload) as { id: string }).id;
const delivered = (action: string, key: number, rowless?: boolean): Completion => ({
  key,
  action,
  result: "delivered",
  ...(rowless ? { rowless } : {}),
});
const dead = (action: string, key: number, error = "PermanentError: 400"): Completion => ({
  key,
  action,
  result: "dead",
  attempts: 3,
  error,
});
/** Wait until the clock has moved past `t` (dead letters are timed by the ms). */
const after = (t: number) => waitFor(() => Date.now() > t, { intervalMs: 1 });

/** Run every store behaviour against an engine; `fresh` makes an empty state for each test. */
export function describeStore(name: string, fresh: () => Promise<StoreHarness>): void {
  describe(`store conformance: ${name}`, () => {
    let harness: StoreHarness;
    let opened: StateStore[] = [];
    let store: StateStore;

    /** Open the test's state; an engine with a stream lease is made leader, as the host's reader would be. */
    const open = async () => {
      const next = await harness.open();
      opened.push(next);
      if (next.leadership) await waitFor(() => next.leadership!.acquire(), { message: "the stream lease" });
      return next;
    };

    beforeEach(async () => {
      harness = await fresh();
      opened = [];
      store = await open();
    });
    afterEach(async () => {
      for (const s of opened) await s.close().catch(() => {});
      await harness.dispose();
    });

    it("ingests a batch with its cursor, and drops duplicates by event id", async () => {
      expect(await store.getCursor()).toBeUndefined();
      const a = factory.byType["user.created"]();
      const b = factory.byType["user.deleted"]();
      const first = await store.ingest([ingestRow(a, ["x", "y"]), ingestRow(b, ["x"])], "c-2");
      expect(first.keys.every((k) => typeof k === "number")).toBe(true);
      expect(first.keys[1]!).toBeGreaterThan(first.keys[0]!);
      expect(await store.getCursor()).toBe("c-2");
      const again = await store.ingest([ingestRow(a, ["x", "y"]), ingestRow(b, ["x"])], "c-3");
      expect(again.keys).toEqual([undefined, undefined]);
      expect(await store.getCursor()).toBe("c-3");
      expect((await store.stats()).pending).toEqual({ x: 2, y: 1 });
      expect(await store.countUnfinished()).toBe(3);
      // A cursor alone moves too; an empty batch keeps it.
      await store.ingest([], "c-4");
      await store.ingest([], undefined);
      expect(await store.getCursor()).toBe("c-4");
    });

    it("keeps each tenant's cursor apart, and dedupes ids per tenant", async () => {
      for (const tenant of ["t1", "t2"]) {
        const lease = store.leadershipOf?.(tenant);
        if (lease) await waitFor(() => lease.acquire(), { message: `${tenant}'s stream lease` });
      }
      const a = factory.byType["user.created"]();
      expect((await store.ingest([ingestRow(a, ["x"])], "t1-c", "t1")).keys[0]).toBeTypeOf("number");
      expect(await store.getCursor("t1")).toBe("t1-c");
      expect(await store.getCursor("t2")).toBeUndefined();
      expect(await store.getCursor()).toBeUndefined();
      // The same id on another tenant is another event; on its own tenant, a duplicate.
      expect((await store.ingest([ingestRow(a, ["x"])], "t2-c", "t2")).keys[0]).toBeTypeOf("number");
      expect((await store.ingest([ingestRow(a, ["x"])], undefined, "t1")).keys[0]).toBeUndefined();
      expect(await store.getCursor("t2")).toBe("t2-c");
      expect(await store.getCursor("t1")).toBe("t1-c");
      expect(await store.countUnfinished()).toBe(2);
    });

    it("drops a repeat of an id within one batch", async () => {
      const a = factory.byType["user.created"]();
      const { keys } = await store.ingest([ingestRow(a, ["x"]), ingestRow(a, ["x"])], undefined);
      expect(keys[0]).toBeTypeOf("number");
      expect(keys[1]).toBeUndefined();
      expect(await store.countUnfinished()).toBe(1);
    });

    it("claims due deliveries once, oldest first, and completes them", async () => {
      const events = factory.many(5);
      await store.ingest(
        events.map((e) => ingestRow(e, ["x"])),
        undefined,
      );
      const now = Date.now();
      const claimed = await store.claim("x", 3, now, false);
      expect(claimed.map((c) => idOf(c.payload))).toEqual(events.slice(0, 3).map((e) => e.id));
      expect(claimed.every((c) => c.action === "x" && c.attempts === 0)).toBe(true);
      expect(claimed.every((c) => c.attemptsBefore === undefined)).toBe(true);
      expect(await store.claim("x", 10, now, false)).toHaveLength(2);
      expect(await store.claim("x", 10, now, false)).toHaveLength(0);
      expect(await store.claim("other", 10, now, false)).toHaveLength(0);
      await store.complete(claimed.map((c) => delivered("x", c.key)));
      expect(await store.countUnfinished()).toBe(2);
    });

    it("never hands one delivery to two concurrent claims", async () => {
      await store.ingest(
        factory.many(20).map((e) => ingestRow(e, ["x"])),
        undefined,
      );
      const now = Date.now();
      const batches = await Promise.all([1, 2, 3, 4].map(() => store.claim("x", 8, now, false)));
      const keys = batches.flat().map((c) => c.key);
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys).toHaveLength(20);
    });

    it("does not claim a delivery before it is due", async () => {
      await store.ingest([ingestRow(factory.many(1)[0]!, ["x"])], undefined);
      expect(await store.claim("x", 1, Date.now() - 60_000, false)).toHaveLength(0);
      expect(await store.claim("x", 1, Date.now(), false)).toHaveLength(1);
    });

    it("schedules a retry later, with its attempts", async () => {
      await store.ingest([ingestRow(factory.many(1)[0]!, ["x"])], undefined);
      const [claimed] = await store.claim("x", 1, Date.now(), false);
      const later = Date.now() + 60_000;
      await store.complete([
        { key: claimed!.key, action: "x", result: "retry", attempts: 1, dueAt: later, error: "503" },
      ]);
      expect(await store.countUnfinished()).toBe(1);
      expect(await store.claim("x", 1, Date.now(), false)).toHaveLength(0);
      const [retry] = await store.claim("x", 1, later, false);
      expect(retry).toMatchObject({ key: claimed!.key, attempts: 1 });
    });

    it("gives back each event's trace context with its claims, ordered or not, and none for events without", async () => {
      const [a, b, c] = factory.many(3);
      const trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\nvendor=x";
      await store.ingest(
        [
          { ...ingestRow(a!, ["x", "y"]), trace },
          ingestRow(b!, ["x", "y"]),
          ingestRow(c!, ["x", "y"], { held: true }),
        ],
        undefined,
      );
      const byId = (claims: Awaited<ReturnType<StateStore["claim"]>>) =>
        Object.fromEntries(claims.map((d) => [idOf(d.payload), d.trace]));
      expect(byId(await store.claim("x", 10, Date.now(), false))).toEqual({
        [a!.id]: trace,
        [b!.id]: undefined,
      });
      const ordered = await store.claim("y", 10, Date.now(), true);
      expect(byId(ordered)).toEqual({ [a!.id]: trace, [b!.id]: undefined });
      expect(ordered.find((d) => idOf(d.payload) === b!.id)).not.toHaveProperty("trace");
    });

    it("keeps held deliveries as its `heldDeliveries` declares: no row (watermark), or a row in flight (row)", async () => {
      const [a, b] = factory.many(2);
      const { keys } = await store.ingest(
        [ingestRow(a!, ["x"], { held: true }), ingestRow(b!, ["x"])],
        undefined,
      );
      const pendingAfterIngest = (await store.stats()).pending.x;
      if (store.heldDeliveries === "row") {
        // Both have rows: the held one in flight (no claim returns it), the other pending.
        expect(pendingAfterIngest).toBe(2);
        expect((await store.claim("x", 5, Date.now(), false)).map((c) => c.key)).toEqual([keys[1]]);
        await store.complete([delivered("x", keys[0]!), delivered("x", keys[1]!)]);
      } else {
        // Only the row of the delivery nobody holds; the held one is covered by the action's watermark.
        expect(store.heldDeliveries).toBe("watermark");
        expect(pendingAfterIngest).toBe(1);
        await store.complete([delivered("x", keys[0]!, true)], [{ action: "x", upto: keys[1]! }]);
        expect((await store.claim("x", 5, Date.now(), false)).map((c) => c.key)).toEqual([keys[1]]);
        await store.complete([delivered("x", keys[1]!)]);
      }
      expect((await store.stats()).pending.x ?? 0).toBe(0);
    });

    it("dedupes event ids per tenant; dead letters carry their tenant and select by it", async () => {
      const [a] = factory.many(1);
      expect((await store.ingest([ingestRow(a!, ["x"])], undefined)).keys[0]).toBeDefined();
      expect((await store.ingest([ingestRow(a!, ["x"])], undefined)).keys).toEqual([undefined]);
      expect((await store.ingest([ingestRow(a!, ["x"])], undefined, "dev")).keys[0]).toBeDefined();
      expect((await store.ingest([ingestRow(a!, ["x"])], undefined, "dev")).keys).toEqual([undefined]);
      expect((await store.stats()).pending.x).toBe(2);
      // Dead letters carry their tenant, and select by it.
      const rows = await store.claim("x", 5, Date.now(), false);
      await store.complete(rows.map((row) => dead("x", row.key)));
      expect((await store.listDead()).map((d) => d.tenant).sort()).toEqual(["default", "dev"]);
      expect((await store.listDead({ tenant: "dev" })).map((d) => [d.tenant, d.eventId])).toEqual([
        ["dev", a!.id],
      ]);
      expect(await store.countDead({ tenant: "default" })).toBe(1);
    });

    it("keeps the delivery of a held-at-ingest retry or dead letter", async () => {
      const [a, b] = factory.many(2);
      const { keys } = await store.ingest(
        [ingestRow(a!, ["x"], { held: true }), ingestRow(b!, ["x"], { held: true })],
        undefined,
      );
      const later = Date.now() + 60_000;
      await store.complete([
        { key: keys[0]!, action: "x", result: "retry", attempts: 1, dueAt: later, error: "503" },
        dead("x", keys[1]!),
      ]);
      const [retry] = await store.claim("x", 5, later, false);
      expect(retry && idOf(retry.payload)).toBe(a!.id);
      expect((await store.listDead()).map((d) => d.eventId)).toEqual([b!.id]);
    });

    it("lists, counts, replays and purges dead letters by every filter field", async () => {
      const created = factory.byType["user.created"]();
      const deleted = factory.byType["user.deleted"]();
      const login = factory.byType["organization.created"]();
      const { keys } = await store.ingest(
        [ingestRow(created, ["x", "y"]), ingestRow(deleted, ["x"]), ingestRow(login, ["x"])],
        undefined,
      );
      for (const action of ["x", "y"]) await store.claim(action, 10, Date.now(), false);
      // Dead-lettered at three distinct times: created/x, then deleted/x and created/y, then login/x.
      await store.complete([dead("x", keys[0]!, "first")]);
      const t1 = Date.now();
      await after(t1);
      await store.complete([dead("x", keys[1]!), dead("y", keys[0]!)]);
      const t2 = Date.now();
      await after(t2);
      await store.complete([dead("x", keys[2]!)]);

      const all = await store.listDead();
      expect(all.map((d) => [d.action, d.eventId])).toEqual([
        ["x", created.id],
        [expect.any(String), expect.any(String)],
        [expect.any(String), expect.any(String)],
        ["x", login.id],
      ]);
      expect(all[0]).toMatchObject({
        eventType: "user.created",
        attempts: 3,
        lastError: "first",
        eventTime: created.time,
      });
      expect(Date.parse(all[0]!.failedAt)).toBeLessThanOrEqual(t1);
      expect(await store.countDead()).toBe(4);
      expect((await store.stats()).dead).toEqual({ x: 3, y: 1 });

      const count = (filter: Parameters<StateStore["countDead"]>[0]) => store.countDead(filter);
      expect(await count({ action: "y" })).toBe(1);
      expect(await count({ eventId: created.id })).toBe(2);
      expect(await count({ type: "user.created" })).toBe(2);
      expect(await count({ type: "user.*" })).toBe(3);
      expect(await count({ type: "organization.*" })).toBe(1);
      expect(await count({ type: "*" })).toBe(4);
      expect(await count({ type: "user" })).toBe(0);
      expect(await count({ since: t1 + 1 })).toBe(3);
      expect(await count({ until: t1 + 1 })).toBe(1);
      expect(await count({ since: t1 + 1, until: t2 + 1 })).toBe(2);
      expect(await count({ limit: 2 })).toBe(2);
      expect(await count({ action: "x", type: "user.*" })).toBe(2);
      expect((await store.listDead({ limit: 1 })).map((d) => d.eventId)).toEqual([created.id]);
      expect((await store.listDead({ action: "x", since: t2 + 1 })).map((d) => d.eventId)).toEqual([
        login.id,
      ]);

      // Replay: the matching ones are due again with attempts reset; the others stay dead.
      const now = Date.now();
      expect(await store.replayDead({ action: "x", type: "user.*" }, now)).toBe(2);
      expect(await store.countDead()).toBe(2);
      const replayed = await store.claim("x", 10, now, false);
      expect(replayed.map((c) => idOf(c.payload)).sort()).toEqual([created.id, deleted.id].sort());
      expect(replayed.every((c) => c.attempts === 0)).toBe(true);
      // The history numbers a replayed dead letter's attempts on from the 3 it had made.
      expect(replayed.map((c) => c.attemptsBefore)).toEqual([3, 3]);
      // Dead again after 2 more, replayed again: 5 before.
      const again = replayed.find((c) => idOf(c.payload) === created.id)!;
      await store.complete([{ key: again.key, action: "x", result: "dead", attempts: 2, error: "again" }]);
      expect(await store.replayDead({ eventId: created.id, action: "x" }, now)).toBe(1);
      expect((await store.claim("x", 10, now, false)).map((c) => c.attemptsBefore)).toEqual([5]);
      await store.complete([dead("x", again.key)]);
      expect(await store.countDead()).toBe(3);
      expect(await store.replayDead({ eventId: "evt_nothing" }, now)).toBe(0);

      // Purge: with a limit, oldest first.
      expect(await store.purgeDead({ limit: 1 })).toBe(1);
      expect((await store.listDead()).map((d) => [d.action, d.eventId])).toEqual([
        ["x", login.id],
        ["x", created.id],
      ]);
      expect(await store.purgeDead({})).toBe(2);
      expect(await store.countDead()).toBe(0);
    });

    it("pages dead letters after a position: every one once, in order, ties of time and event included", async () => {
      const events = Array.from({ length: 5 }, () => factory.byType["user.created"]());
      const { keys } = await store.ingest(
        events.map((e) => ingestRow(e, ["x", "y"])),
        undefined,
      );
      for (const action of ["x", "y"]) await store.claim(action, 10, Date.now(), false);
      // One transaction: many share a millisecond, and each event is dead for two actions.
      await store.complete(keys.flatMap((key) => [dead("x", key!), dead("y", key!)]));
      const all = await store.listDead();
      expect(all).toHaveLength(10);
      const pages: string[][] = [];
      let after: DeadLetterPosition | undefined;
      for (;;) {
        const page = await store.listDead({ limit: 3, after });
        if (page.length === 0) break;
        pages.push(page.map((d) => `${d.action}|${d.eventId}`));
        const last = page.at(-1)!;
        after = { failedAt: Date.parse(last.failedAt), key: last.key, action: last.action };
      }
      expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 1]);
      expect(pages.flat()).toEqual(all.map((d) => `${d.action}|${d.eventId}`));
      // Filters narrow a page as they narrow the list.
      const first = (await store.listDead({ action: "y", limit: 2 })).at(-1)!;
      const rest = await store.listDead({
        action: "y",
        after: { failedAt: Date.parse(first.failedAt), key: first.key, action: "y" },
      });
      expect(rest.map((d) => d.eventId)).toEqual(events.slice(2).map((e) => e.id));
      expect(await store.countDead({ after: { failedAt: 0, key: 0, action: "x" } })).toBe(10);
      expect(await store.listDead({ after: { failedAt: Date.now() + 60_000, key: 0, action: "x" } })).toEqual(
        [],
      );
    });

    it("serialises an ordered action's deliveries per key; dead letters do not block", async () => {
      const [a1, a2, a3, b1, n1] = factory.many(5);
      const { keys } = await store.ingest(
        [
          ingestRow(a1!, ["o"], { orderKey: "a" }),
          ingestRow(a2!, ["o"], { orderKey: "a" }),
          ingestRow(a3!, ["o"], { orderKey: "a" }),
          ingestRow(b1!, ["o"], { orderKey: "b" }),
          ingestRow(n1!, ["o"], { orderKey: null }),
        ],
        undefined,
      );
      const now = Date.now();
      const later = now + 60_000;
      const retry = (key: number, dueAt: number): Completion => ({
        key,
        action: "o",
        result: "retry",
        attempts: 1,
        dueAt,
        error: "503",
        orderKey: "a",
      });
      if (store.inFlightOrder === "host") {
        // a1 in flight is in this host's memory, which queues a2 and a3 behind it: all come, in order.
        const first = await store.claim("o", 10, now, true);
        expect(first.map((c) => idOf(c.payload))).toEqual([a1!.id, a2!.id, a3!.id, b1!.id, n1!.id]);
        // a1 retried later; a2 and a3 go back unattempted, due now: they wait behind a1, not due yet.
        await store.complete([retry(keys[0]!, later), retry(keys[1]!, now), retry(keys[2]!, now)]);
        expect(await store.claim("o", 10, now, true)).toHaveLength(0);
        // Once a1 is due, all three come again, in order.
        const again = await store.claim("o", 10, later, true);
        expect(again.map((c) => idOf(c.payload))).toEqual([a1!.id, a2!.id, a3!.id]);
        // A limit cuts a key's rows at a prefix: a2 sent back comes alone, a3 waits for the next claim.
        await store.complete([retry(keys[1]!, later), retry(keys[2]!, later)]);
        await store.complete([dead("o", keys[0]!)]);
        expect((await store.claim("o", 1, later, true)).map((c) => idOf(c.payload))).toEqual([a2!.id]);
        expect((await store.claim("o", 10, later, true)).map((c) => idOf(c.payload))).toEqual([a3!.id]);
      } else {
        const first = await store.claim("o", 10, now, true);
        expect(first.map((c) => idOf(c.payload))).toEqual([a1!.id, b1!.id, n1!.id]);
        // a1 in flight (maybe on another replica): a2 waits.
        expect(await store.claim("o", 10, now, true)).toHaveLength(0);
        // a1 retried later: still unfinished, so a2 still waits, and a1 is not due yet.
        await store.complete([
          { key: keys[0]!, action: "o", result: "retry", attempts: 1, dueAt: later, error: "503" },
        ]);
        expect(await store.claim("o", 10, now, true)).toHaveLength(0);
        const [again] = await store.claim("o", 10, later, true);
        expect(again && idOf(again.payload)).toBe(a1!.id);
        // a1 dead: a2 is due; a3 waits for a2.
        await store.complete([dead("o", keys[0]!)]);
        expect((await store.claim("o", 10, later, true)).map((c) => idOf(c.payload))).toEqual([a2!.id]);
        await store.complete([delivered("o", keys[1]!)]);
        expect((await store.claim("o", 10, later, true)).map((c) => idOf(c.payload))).toEqual([a3!.id]);
      }
      // The same rows unordered would not wait.
      const [u1, u2] = factory.many(2);
      await store.ingest(
        [ingestRow(u1!, ["u"], { orderKey: "a" }), ingestRow(u2!, ["u"], { orderKey: "a" })],
        undefined,
      );
      expect(await store.claim("u", 10, later, false)).toHaveLength(2);
    });

    it("declines a held delivery whose key has an unfinished row; keeps held keys in rows it writes later", async () => {
      const [a1, a2, b1, a3, c1] = factory.many(5);
      // a1 waits in the store (not held); a2 of the same key is offered held: declined, written pending.
      const first = await store.ingest(
        [
          ingestRow(a1!, ["o"], { orderKey: "a" }),
          ingestRow(b1!, ["o"], { orderKey: "b", held: true }),
          ingestRow(c1!, ["o"], { orderKey: null, held: true }),
        ],
        undefined,
      );
      expect(first.declined ?? []).toEqual([]);
      const second = await store.ingest([ingestRow(a2!, ["o"], { orderKey: "a", held: true })], undefined);
      expect(second.declined).toEqual([[0, "o"]]);
      const now = Date.now();
      // Held b1 (Postgres: its row in flight) fails: its retry row keeps key b, so b's later events wait.
      await store.complete([
        {
          key: first.keys[1]!,
          action: "o",
          result: "retry",
          attempts: 1,
          dueAt: now + 60_000,
          error: "503",
          orderKey: "b",
        },
      ]);
      const [b2] = factory.many(1);
      const third = await store.ingest(
        [ingestRow(b2!, ["o"], { orderKey: "b", held: true }), ingestRow(a3!, ["o"], { orderKey: "a" })],
        undefined,
      );
      expect(third.declined).toEqual([[0, "o"]]);
      // b2 waits behind b1's retry. Only a1 is due where a row in flight holds its key's back (Postgres);
      // where the host queues them behind it (SQLite), a2 and a3 come too, in order.
      if (store.inFlightOrder === "host") {
        const all = await store.claim("o", 10, Date.now(), true);
        expect(all.map((c) => idOf(c.payload))).toEqual([a1!.id, a2!.id, a3!.id]);
        return;
      }
      const claimed = await store.claim("o", 10, now, true);
      expect(claimed.map((c) => idOf(c.payload))).toEqual([a1!.id]);
      await store.complete([delivered("o", claimed[0]!.key)]);
      expect((await store.claim("o", 10, now, true)).map((c) => idOf(c.payload))).toEqual([a2!.id]);
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
      const superseded = await store.supersededDead({});
      expect(superseded).toEqual([
        { action: "s", eventId: late.id, newerEventId: newest.id, newerTime: t(30) },
      ]);
      expect(await store.supersededDead({ action: "n" })).toEqual([]);
      // Replay leaves the superseded ones dead.
      expect(await store.replayDead({}, Date.now(), superseded)).toBe(2);
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

    it("recovers, after a crash, the deliveries that were running and nothing finished", async () => {
      const [done, running, held, waiting] = factory.many(4);
      const { keys } = await store.ingest(
        [
          ingestRow(done!, ["x"], { held: true }),
          ingestRow(running!, ["x"], { held: true }),
          ingestRow(held!, ["x"]),
          ingestRow(waiting!, ["x"]),
        ],
        "c-1",
      );
      await store.complete([delivered("x", keys[0]!, true)], [{ action: "x", upto: keys[0]! }]);
      // `held` is claimed from the store and never finished; `waiting` stays pending.
      const claimed = await store.claim("x", 1, Date.now(), false);
      expect(claimed.map((c) => idOf(c.payload))).toEqual([held!.id]);
      await store.close();

      const next = await open();
      expect(await next.getCursor()).toBe("c-1");
      expect(await next.recover()).toBe(2);
      expect(await next.recover()).toBe(0);
      const due = await next.claim("x", 10, Date.now(), false);
      expect(due.map((c) => idOf(c.payload)).sort()).toEqual([running!.id, held!.id, waiting!.id].sort());
    });

    it("prunes finished events and forgets ids past the dedupe window, keeping dead letters and pending work", async () => {
      const [finished, deadOne, pending] = factory.many(3);
      const { keys } = await store.ingest(
        [ingestRow(finished!, ["x"]), ingestRow(deadOne!, ["x"]), ingestRow(pending!, ["y"])],
        undefined,
      );
      const now = Date.now();
      await store.claim("x", 10, now, false);
      await store.complete([delivered("x", keys[0]!), dead("x", keys[1]!)]);

      // Within the dedupe window every id is still known.
      await store.prune(now, 60_000);
      expect((await store.ingest([ingestRow(finished!, ["x"])], undefined)).keys).toEqual([undefined]);
      // Past it, a finished event's id is forgotten; the dead letter and the pending delivery keep theirs.
      await store.prune(now + 120_000, 60_000);
      const again = await store.ingest(
        [ingestRow(finished!, ["z"]), ingestRow(deadOne!, ["z"]), ingestRow(pending!, ["z"])],
        undefined,
      );
      expect(again.keys.map((k) => k !== undefined)).toEqual([true, false, false]);
      expect((await store.listDead()).map((d) => d.eventId)).toEqual([deadOne!.id]);
      expect(await store.replayDead({}, now)).toBe(1);
      expect((await store.claim("x", 10, now, false)).map((c) => idOf(c.payload))).toEqual([deadOne!.id]);
      expect((await store.claim("y", 10, now, false)).map((c) => idOf(c.payload))).toEqual([pending!.id]);
    });

    describeHistory(() => store);
    describeAudit(() => store);

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

    it("answers touch and close", async () => {
      await store.touch(Date.now());
      await store.close();
      await store.close();
    });
  });
}
