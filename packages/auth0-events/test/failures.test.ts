import { events, type FakeTenant, startFakeTenant, waitFor } from "@switchyard/testing";
import { afterEach, describe, expect, test } from "vitest";
import { StreamError, stream } from "../src/index.js";
import { eventOffsets, range, take } from "./helpers.js";

let tenant: FakeTenant;
afterEach(() => tenant?.close());

function expectStreamError(error: unknown, code: string, hint: RegExp): void {
  expect(error).toBeInstanceOf(StreamError);
  expect((error as StreamError).code).toBe(code);
  expect((error as StreamError).message).toMatch(/^\[switchyard\] \[auth0-events\] /);
  expect((error as StreamError).message).toMatch(hint);
}

describe("stream(): terminal failures stop with a clear error, without a hot loop", () => {
  test("401 with a static token", async () => {
    tenant = await startFakeTenant();
    const { error } = await take(tenant, 1, { auth: { token: "expired-token" } });
    expectStreamError(error, "UNAUTHORIZED", /fresh token|clientId/);
    expect((error as Error).message).not.toContain("expired-token");
    expect(tenant.connections).toHaveLength(1);
  });

  test("403 and 400", async () => {
    tenant = await startFakeTenant();
    tenant.failNextConnects(403);
    expectStreamError((await take(tenant, 1)).error, "FORBIDDEN", /read:events/);
    const { error } = await take(tenant, 1, { eventTypes: ["user.exploded"] });
    expectStreamError(error, "BAD_REQUEST", /eventTypes/);
    expect((error as Error).message).toContain("user.exploded");
    expect(tenant.connections).toHaveLength(2);
  });

  test("invalid options throw at once, naming the field", () => {
    expect(() => stream({ domain: "", auth: { token: "" } })).toThrow(/domain.*auth/);
    expect(() => stream({ domain: "x.auth0.com", auth: { token: "t" }, eventTypes: ["user.*"] })).toThrow(
      /eventTypes/,
    );
  });
});

describe("stream(): expired and invalid cursors", () => {
  test("410 fails loudly by default, saying what to do", async () => {
    tenant = await startFakeTenant();
    tenant.appendMany(10);
    tenant.expireOffsetsBefore(5);
    const { error, items } = await take(tenant, 1, { cursor: tenant.offsetOf(2) });
    expectStreamError(error, "CURSOR_EXPIRED", /onCursorExpired: \{ fromTimestamp \}/);
    expect((error as Error).message).toContain(tenant.offsetOf(2));
    expect(items).toEqual([]);
    expect(tenant.connections).toHaveLength(1);
  });

  test("410 with the fromTimestamp policy resumes from the overlap and reports it", async () => {
    tenant = await startFakeTenant();
    tenant.appendMany(10);
    tenant.expireOffsetsBefore(5);
    const overlap = new Date(Date.now() - 60_000);
    const { items, seen } = await take(tenant, 5, {
      cursor: tenant.offsetOf(2),
      onCursorExpired: { fromTimestamp: overlap },
    });
    expect(eventOffsets(items)).toEqual(range(tenant, 5, 10));
    expect(tenant.connections[1]?.query.get("from_timestamp")).toBe(overlap.toISOString());
    expect(tenant.connections[1]?.query.has("from")).toBe(false);
    expect((seen.errors[0] as StreamError).code).toBe("CURSOR_EXPIRED");
    expect(seen.errors[0]?.message).toMatch(/resuming from_timestamp .* dedupe/);
  });

  test("a cursor_expired error frame follows the same policy", async () => {
    tenant = await startFakeTenant();
    tenant.appendMany(3);
    const reading = take(tenant, 10);
    await waitFor(() => tenant.liveConnections === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    tenant.sendErrorFrame("cursor_expired");
    const { error, items } = await reading;
    expectStreamError(error, "CURSOR_EXPIRED", /dedupe on event id/);
    expect(eventOffsets(items)).toEqual(range(tenant, 0, 3));
  });
});

describe("stream(): malformed frames are skipped and reported with their offset", () => {
  test.each(["bad-json", "bad-shape", "garbage-bytes"] as const)("%s", async (kind) => {
    tenant = await startFakeTenant();
    tenant.appendMany(2);
    const reading = take(tenant, 3);
    await waitFor(() => tenant.liveConnections === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    tenant.injectMalformed(kind);
    tenant.append(events.userCreated());
    const { items, seen, error } = await reading;
    expect(error).toBeUndefined();
    expect(eventOffsets(items)).toEqual(range(tenant, 0, 3));
    expect(seen.malformed).toHaveLength(1);
    expect(seen.malformed[0]?.offset).toBe(tenant.offsetOf(1));
    expect(seen.malformed[0]?.error.message).toContain(`at offset ${tenant.offsetOf(1)}`);
    expect(seen.reconnects).toEqual([]);
  });
});
