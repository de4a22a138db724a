// What only the memory engine does (the contract's behaviours are in conformance.test.ts).
import type { Auth0Event } from "@switchyard/core";
import { createEventFactory } from "@switchyard/testing";
import { describe, expect, it } from "vitest";
import type { IngestEvent } from "../types.js";
import { createMemoryState, openMemoryStore } from "./index.js";

const factory = createEventFactory({ seed: 33 });
const ingestRow = (event: Auth0Event, actions: string[], options: { held?: boolean } = {}): IngestEvent => ({
  event,
  payload: JSON.stringify(event),
  deliveries: actions.map((action) => ({ action, orderKey: null, held: options.held ?? false })),
});

describe("memory store", () => {
  it("declares one host that keeps a row for every held delivery", () => {
    const store = openMemoryStore();
    expect(store).toMatchObject({ engine: "memory", heldDeliveries: "row" });
    expect(store.leadership).toBeUndefined();
    expect(store.replicaId).toBeUndefined();
    expect(store.rateBuckets).toBeUndefined();
  });

  it("rejects operations once closed; a store opened on the same state finds it", async () => {
    const state = createMemoryState();
    const first = openMemoryStore({ state });
    await first.ingest([ingestRow(factory.many(1)[0]!, ["x"], { held: true })], "c-1");
    await first.close();
    await expect(first.getCursor()).rejects.toThrow("[switchyard] [memory] the store is closed");
    const next = openMemoryStore({ state });
    expect(await next.getCursor()).toBe("c-1");
    // The held delivery's row was in flight when the first store stopped: due again.
    expect(await next.recover()).toBe(1);
    expect(await openMemoryStore().countUnfinished()).toBe(0);
  });

  it("never gives a key twice, even once every event is pruned", async () => {
    const store = openMemoryStore();
    const [a, b] = factory.many(2);
    const { keys } = await store.ingest([ingestRow(a!, ["x"])], undefined);
    await store.claim("x", 1, Date.now(), false);
    await store.complete([{ key: keys[0]!, action: "x", result: "delivered" }]);
    await store.prune(Date.now() + 60_000, 0);
    expect(await store.event(a!.id)).toBeUndefined();
    const next = await store.ingest([ingestRow(b!, ["x"])], undefined);
    expect(next.keys[0]).toBeGreaterThan(keys[0]!);
  });

  it("keeps a copy of what it is given and gives copies back", async () => {
    const store = openMemoryStore();
    const selection: Record<string, unknown> = { action: "x" };
    await store.recordAudit({ at: 1, actor: "op", operation: "pause", selection, result: {} });
    selection.action = "y";
    const [entry] = await store.searchAudit({ limit: 1 });
    expect(entry!.selection).toEqual({ action: "x" });
    entry!.selection.action = "z";
    expect((await store.searchAudit({ limit: 1 }))[0]!.selection).toEqual({ action: "x" });
  });
});
