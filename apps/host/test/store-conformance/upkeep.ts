// The upkeep part of the store conformance suite: pruning, touch and close. Registered inside
// `describeStore`, so every engine runs it.
import { beforeEach, expect, it } from "vitest";
import type { StateStore } from "../../src/store/types.js";
import { dead, delivered, factory, idOf, ingestRow, type StoreSuite } from "./shared.js";

/** Register the upkeep behaviours. */
export function describeUpkeep(suite: StoreSuite): void {
  let store: StateStore;
  beforeEach(() => {
    store = suite.store();
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

  it("answers touch and close", async () => {
    await store.touch(Date.now());
    await store.close();
    await store.close();
  });
}
