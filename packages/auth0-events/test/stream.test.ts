import { EVENT_TYPES } from "@switchyard/core";
import { events, type FakeTenant, startFakeTenant, waitFor } from "@switchyard/testing";
import { afterEach, describe, expect, test } from "vitest";
import { streamBatches } from "../src/index.js";
import { eventOffsets, range, take } from "./helpers.js";

let tenant: FakeTenant;
afterEach(() => tenant?.close());

describe("stream(): reading and resuming", () => {
  test("yields typed events of all 25 types in order, from from_timestamp when there is no cursor", async () => {
    tenant = await startFakeTenant();
    tenant.appendMany(50);
    const { items, seen } = await take(tenant, 50);
    expect(eventOffsets(items)).toEqual(range(tenant, 0, 50));
    const types = items.map((item) => (item.kind === "event" ? item.event.type : ""));
    expect(new Set(types)).toEqual(new Set(EVENT_TYPES));
    const first = items[0];
    if (first?.kind !== "event") throw new Error("expected an event");
    expect(first.event).toEqual(tenant.eventAt(0));
    const query = tenant.connections[0]?.query;
    expect(query?.get("from_timestamp")).toBe("1970-01-01T00:00:00.000Z");
    expect(query?.has("from")).toBe(false);
    expect(seen).toMatchObject({ connects: 1, messages: 50 });
    expect(seen.bytes).toBeGreaterThan(50 * 500);
  });

  test("resumes after the cursor (from and Last-Event-ID), ignoring fromTimestamp", async () => {
    tenant = await startFakeTenant();
    tenant.appendMany(10);
    const { items } = await take(tenant, 3, {
      cursor: tenant.offsetOf(6),
      fromTimestamp: "2001-01-01T00:00:00Z",
    });
    expect(eventOffsets(items)).toEqual(range(tenant, 7, 10));
    const connection = tenant.connections[0];
    expect(connection?.query.get("from")).toBe(tenant.offsetOf(6));
    expect(connection?.query.has("from_timestamp")).toBe(false);
    expect(connection?.headers["last-event-id"]).toBe(tenant.offsetOf(6));
  });

  test("asks only for the event types it needs", async () => {
    tenant = await startFakeTenant();
    tenant.appendMany(100);
    const { items } = await take(tenant, 8, { eventTypes: ["user.created", "organization.member.added"] });
    expect(tenant.connections[0]?.query.getAll("event_type")).toEqual([
      "user.created",
      "organization.member.added",
    ]);
    expect(new Set(items.map((item) => (item.kind === "event" ? item.event.type : "offset")))).toEqual(
      new Set(["user.created", "organization.member.added"]),
    );
  });

  test("without cursor or timestamp it starts at the latest, then receives live appends", async () => {
    tenant = await startFakeTenant();
    tenant.appendMany(10);
    const reading = take(tenant, 2, { fromTimestamp: undefined });
    await waitFor(() => tenant.liveConnections === 1);
    const offsets = tenant.append([events.userCreated(), events.userDeleted()]);
    expect(eventOffsets((await reading).items)).toEqual(offsets);
  });

  test("offset-only heartbeats are yielded as cursor updates, and the cursor moves past filtered events", async () => {
    tenant = await startFakeTenant({ heartbeatMs: 20, cutEvery: 1 });
    tenant.appendMany(25);
    const { items } = await take(tenant, 100, { eventTypes: ["group.created"] }, (seen) =>
      seen.some((item) => item.kind === "offset"),
    );
    expect(items[0]).toMatchObject({ kind: "event", offset: tenant.offsetOf(0) });
    expect(items.at(-1)).toEqual({ kind: "offset", offset: tenant.offsetOf(24) });
    // After the cut, the reconnect resumed from the event's offset.
    expect(tenant.connections[1]?.query.get("from")).toBe(tenant.offsetOf(0));
  });

  test("streamBatches groups items per socket read, never empty", async () => {
    tenant = await startFakeTenant();
    tenant.appendMany(2000);
    const controller = new AbortController();
    const batches: number[] = [];
    for await (const batch of streamBatches({
      domain: tenant.url,
      auth: { token: tenant.token },
      fromTimestamp: new Date(0),
      signal: controller.signal,
    })) {
      batches.push(batch.length);
      if (batches.reduce((a, b) => a + b, 0) >= 2000) controller.abort();
    }
    expect(batches.every((n) => n > 0)).toBe(true);
    expect(batches.length).toBeLessThan(2000);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(2000);
  });

  test("abort ends the iteration promptly with a clean return, while idle and while backing off", async () => {
    tenant = await startFakeTenant();
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    const { items, error } = await take(tenant, 1, { signal: controller.signal });
    expect([items.length, error]).toEqual([0, undefined]);
    tenant.failNextConnects(503, 1, { "retry-after": "30" });
    const backingOff = new AbortController();
    const pending = take(tenant, 1, { signal: backingOff.signal });
    await waitFor(() => tenant.connections.length === 2);
    backingOff.abort();
    expect((await pending).error).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
