// The deliveries part of the store conformance suite: ingest, claim, complete, ordered keys, held deliveries
// and recovery after a crash. Registered inside `describeStore`, so every engine runs it.
import { waitFor } from "@switchyard/testing";
import { beforeEach, expect, it } from "vitest";
import type { Completion, StateStore } from "../../src/store/types.js";
import { dead, delivered, factory, idOf, ingestRow, type StoreSuite } from "./shared.js";

/** Register the deliveries behaviours. */
export function describeDeliveries(suite: StoreSuite): void {
  let store: StateStore;
  const open = suite.open;
  beforeEach(() => {
    store = suite.store();
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

  it("counts one tenant's pending deliveries and dead letters, or every tenant's", async () => {
    const [h1, h2, d1, d2, d3, d4] = factory.many(6);
    const home = (await store.ingest([ingestRow(h1!, ["x", "y"]), ingestRow(h2!, ["x"])], undefined)).keys;
    const dev = (
      await store.ingest(
        [ingestRow(d1!, ["x"]), ingestRow(d2!, ["y"]), ingestRow(d3!, ["x"]), ingestRow(d4!, ["x"])],
        undefined,
        "dev",
      )
    ).keys;
    expect((await store.claim("x", 10, Date.now(), false)).length).toBe(5);
    // x: default's h1 is a retry (pending again), h2 dead; dev's d1 and d4 dead, d3 left in flight.
    await store.complete([
      { key: home[0]!, action: "x", result: "retry", attempts: 1, dueAt: Date.now() + 60_000, error: "503" },
      dead("x", home[1]!),
      dead("x", dev[0]!),
      dead("x", dev[3]!),
    ]);
    expect(await store.stats()).toEqual({ pending: { x: 2, y: 2 }, dead: { x: 3 } });
    expect(await store.stats("default")).toEqual({ pending: { x: 1, y: 1 }, dead: { x: 1 } });
    expect(await store.stats("dev")).toEqual({ pending: { x: 1, y: 1 }, dead: { x: 2 } });
    expect(await store.stats("nobody")).toEqual({ pending: {}, dead: {} });
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
    // b2 waits behind b1's retry. a1, a2 and a3 are due, in order: the host queues them behind each other.
    const all = await store.claim("o", 10, Date.now(), true);
    expect(all.map((c) => idOf(c.payload))).toEqual([a1!.id, a2!.id, a3!.id]);
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
}
