import { createEventFactory } from "@switchyard/testing";
import { describe, expect, it } from "vitest";
import type { AttemptRecord, Completion } from "../types.js";
import {
  packAttempts,
  packCompletions,
  packIngest,
  unpackAttempts,
  unpackCompletions,
  unpackIngest,
} from "./packing.js";

describe("packing for the store thread", () => {
  it("round-trips ingest rows, keeping only what the store keeps of each event", () => {
    const events = createEventFactory({ seed: 4 }).many(4);
    const rows = events.map((event, i) => ({
      event,
      payload: JSON.stringify(event),
      deliveries: Array.from({ length: i }, (_, d) => ({
        action: `a${d}`,
        orderKey: d % 2 ? `user-${i}` : null,
        held: d === 0,
      })),
    }));
    expect(unpackIngest(structuredClone(packIngest(rows)))).toEqual(
      rows.map(({ event, payload, deliveries }) => ({
        event: { id: event.id, type: event.type, time: event.time },
        payload,
        deliveries,
      })),
    );
  });

  it("round-trips completions of every kind and the watermarks, leaving out deliveries without rows", () => {
    const completions: Completion[] = [
      { key: 1, action: "a", result: "delivered" },
      { key: 2, action: "b", result: "retry", attempts: 2, dueAt: 99, error: "503" },
      { key: 3, action: "a", result: "delivered" },
      { key: 3, action: "b", result: "dead", attempts: 1, error: "410" },
      { key: 4, action: "a", result: "running", attempts: 0 },
    ];
    const rowless: Completion = { key: 5, action: "a", result: "delivered", rowless: true };
    const watermarks = [
      { action: "a", upto: 3 },
      { action: "b", upto: 5 },
    ];
    const [back, marks] = unpackCompletions(
      structuredClone(packCompletions([...completions, rowless], watermarks)),
    );
    const order = (c: Completion) => `${c.action}:${c.key}`;
    expect([...back].sort((x, y) => order(x).localeCompare(order(y)))).toEqual(
      [...completions].sort((x, y) => order(x).localeCompare(order(y))),
    );
    expect(marks).toEqual(watermarks);
  });

  it("round-trips attempt records, with and without their optional fields", () => {
    const records: AttemptRecord[] = [
      {
        action: "a",
        eventId: "evt_1",
        eventKey: 7,
        eventType: "user.created",
        attempt: 1,
        startedAt: 1_700_000_000_000,
        durationMs: 12.5,
        outcome: "delivered",
        replica: "r1",
      },
      {
        action: "b",
        eventId: "evt_2",
        eventType: "user.deleted",
        attempt: 3,
        startedAt: 1_700_000_000_100,
        durationMs: 0,
        outcome: "dead",
        status: 410,
        error: "PermanentError: 410",
        replica: "",
      },
      {
        action: "a",
        eventId: "evt_1",
        eventKey: 7,
        eventType: "user.created",
        attempt: 2,
        startedAt: 1_700_000_000_200,
        durationMs: 3,
        outcome: "retrying",
        error: "timeout",
        replica: "r1",
      },
    ];
    expect(unpackAttempts(structuredClone(packAttempts(records)))).toEqual(records);
    // A single-tenant host sends no tenants at all.
    expect(packAttempts(records).tenants).toBeUndefined();
  });

  it("round-trips attempts' tenants, the default one as nothing", () => {
    const base = {
      eventType: "user.created",
      attempt: 1,
      startedAt: 1_700_000_000_000,
      durationMs: 1,
      outcome: "delivered",
      replica: "r1",
    } as const;
    const records: AttemptRecord[] = [
      { ...base, action: "a", eventId: "evt_1" },
      { ...base, action: "a", eventId: "evt_1", tenant: "beta" },
      { ...base, action: "b", eventId: "evt_2", tenant: "default" },
    ];
    const packed = packAttempts(records);
    expect(packed.tenants).toEqual([null, "beta", null]);
    expect(unpackAttempts(structuredClone(packed))).toEqual([
      records[0],
      records[1],
      { ...base, action: "b", eventId: "evt_2" },
    ]);
  });
});
