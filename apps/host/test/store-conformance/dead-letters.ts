// The dead-letters part of the store conformance suite: list, count, replay and purge by every filter field,
// and paging. Registered inside `describeStore`, so every engine runs it.
import { beforeEach, expect, it } from "vitest";
import type { DeadLetterPosition, StateStore } from "../../src/store/types.js";
import { after, dead, factory, idOf, ingestRow, type StoreSuite } from "./shared.js";

/** Register the dead-letter behaviours. */
export function describeDeadLetters(suite: StoreSuite): void {
  let store: StateStore;
  beforeEach(() => {
    store = suite.store();
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
    // Types are matched as written, in every engine (SQLite's LIKE would have ignored case).
    expect(await count({ type: "User.*" })).toBe(0);
    expect(await count({ type: "USER.CREATED" })).toBe(0);
    expect(await count({ since: t1 + 1 })).toBe(3);
    expect(await count({ until: t1 + 1 })).toBe(1);
    expect(await count({ since: t1 + 1, until: t2 + 1 })).toBe(2);
    expect(await count({ limit: 2 })).toBe(2);
    expect(await count({ action: "x", type: "user.*" })).toBe(2);
    expect((await store.listDead({ limit: 1 })).map((d) => d.eventId)).toEqual([created.id]);
    expect((await store.listDead({ action: "x", since: t2 + 1 })).map((d) => d.eventId)).toEqual([login.id]);

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

  it("purges an action's waiting deliveries and dead letters, leaving one in flight and other actions'", async () => {
    const events = Array.from({ length: 4 }, () => factory.byType["user.created"]());
    const { keys } = await store.ingest(
      events.map((e) => ingestRow(e, ["gone", "kept"])),
      undefined,
    );
    const now = Date.now();
    // gone: one dead letter, one in flight, two waiting.
    const claimed = await store.claim("gone", 2, now, false);
    expect(claimed).toHaveLength(2);
    await store.complete([dead("gone", claimed[0]!.key)]);
    expect(await store.purgeAction("gone")).toBe(3);
    expect(await store.countDead({ action: "gone" })).toBe(0);
    expect((await store.stats()).pending).toEqual({ gone: 1, kept: 4 });
    // The one in flight ends as usual.
    await store.complete([dead("gone", claimed[1]!.key)]);
    expect(await store.countDead({ action: "gone" })).toBe(1);
    expect(await store.purgeAction("gone")).toBe(1);
    expect(await store.purgeAction("never-seen")).toBe(0);
    expect((await store.claim("kept", 10, now, false)).map((c) => c.key)).toEqual(keys);
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
}
