import { type FakeTenant, startFakeTenant, waitFor } from "@switchyard/testing";
import { afterEach, describe, expect, test } from "vitest";
import { StreamError } from "../src/index.js";
import { eventOffsets, range, take } from "./helpers.js";

let tenant: FakeTenant;
afterEach(() => tenant?.close());

describe("stream(): reconnecting", () => {
  test("EOF: reconnects with from = the last offset, no gap, no duplicate", async () => {
    tenant = await startFakeTenant({ cutEvery: 7 });
    tenant.appendMany(30);
    const { items, seen } = await take(tenant, 30);
    expect(eventOffsets(items)).toEqual(range(tenant, 0, 30));
    expect(tenant.connections.slice(1).map((c) => c.query.get("from"))).toEqual(
      [6, 13, 20, 27].map((i) => tenant.offsetOf(i)),
    );
    expect(seen.reconnects.map((r) => r.reason)).toEqual(["eof", "eof", "eof", "eof"]);
    // The server's retry: (50 ms from the fake tenant) floors every delay, even after progress.
    expect(seen.reconnects.every((r) => r.delayMs >= 50)).toBe(true);
    expect(seen.connects).toBe(5);
  });

  test("connection_timeout error frames are routine reconnects, not items", async () => {
    tenant = await startFakeTenant({ rotateEvery: 10 });
    tenant.appendMany(25);
    const { items, seen } = await take(tenant, 25);
    expect(eventOffsets(items)).toEqual(range(tenant, 0, 25));
    expect(seen.reconnects.map((r) => r.reason)).toEqual(["connection_timeout", "connection_timeout"]);
    expect(seen.errors.every((e) => e instanceof StreamError && e.code === "ERROR_FRAME")).toBe(true);
  });

  test("dropped sockets: reconnects after a network error and resumes", async () => {
    tenant = await startFakeTenant();
    tenant.appendMany(5);
    const reading = take(tenant, 10);
    await waitFor(() => tenant.liveConnections === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    tenant.dropConnections();
    await waitFor(() => tenant.connections.length === 2 && tenant.liveConnections === 1);
    tenant.appendMany(5);
    const { items, seen } = await reading;
    expect(eventOffsets(items)).toEqual(range(tenant, 0, 10));
    expect(seen.reconnects[0]?.reason).toBe("network");
    expect(tenant.connections[1]?.query.get("from")).toBe(tenant.offsetOf(4));
  });

  test("a dead connection (no bytes at all) is detected after idleTimeoutMs and replaced", async () => {
    tenant = await startFakeTenant({ heartbeatMs: 20 });
    tenant.appendMany(3);
    const reading = take(tenant, 4, { idleTimeoutMs: 150 });
    await waitFor(() => tenant.liveConnections === 1);
    tenant.stall(5_000);
    tenant.appendMany(1);
    const { items, seen } = await reading;
    expect(eventOffsets(items)).toEqual(range(tenant, 0, 4));
    expect(seen.reconnects.map((r) => r.reason)).toContain("idle");
  });

  test("heartbeats keep an idle connection alive", async () => {
    tenant = await startFakeTenant({ heartbeatMs: 20 });
    const controller = new AbortController();
    const reading = take(tenant, 1, { idleTimeoutMs: 100, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 400));
    controller.abort();
    const { seen } = await reading;
    expect(seen.reconnects).toEqual([]);
    expect(seen.bytes).toBeGreaterThan(0);
  });

  test("503 and 429: backoff honours Retry-After and the server's retry: floor", async () => {
    tenant = await startFakeTenant({ retryMs: 30 });
    tenant.appendMany(2);
    tenant.failNextConnects(503, 2);
    tenant.failNextConnects(429, 1, { "retry-after": "0.2" });
    const started = Date.now();
    const { items, seen } = await take(tenant, 2, { backoff: { initialMs: 1, maxMs: 5 } });
    expect(eventOffsets(items)).toEqual(range(tenant, 0, 2));
    expect(seen.reconnects.map((r) => r.reason)).toEqual(["http_503", "http_503", "http_429"]);
    expect(seen.reconnects[2]?.delayMs).toBeGreaterThanOrEqual(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(seen.errors.map((e) => (e as StreamError).status)).toEqual([503, 503, 429]);
  });

  test("backoff grows without progress and resets after progress; retry: is the floor", async () => {
    tenant = await startFakeTenant({ retryMs: 40 });
    tenant.appendMany(1);
    tenant.failNextConnects(503, 4);
    const { seen } = await take(tenant, 1, { backoff: { initialMs: 10, maxMs: 1000 } });
    const delays = seen.reconnects.map((r) => r.delayMs);
    expect(delays).toHaveLength(4);
    // Full jitter between the floor (the retry: hint, once a 200 sent it) and initial·2^(n-1).
    expect(delays.every((d, i) => d >= 0 && d <= 10 * 2 ** i)).toBe(true);
  });
});
