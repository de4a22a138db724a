import { type FakeTenant, startFakeTenant, waitFor } from "@switchyard/testing";
import { afterEach, expect, test } from "vitest";
import { eventOffsets, range, take } from "./helpers.js";

let tenant: FakeTenant;
afterEach(() => tenant?.close());

test("cuts every ~300 events, 100 ms tokens (one batch revoked), frames split at random byte boundaries: every event once, in order", async () => {
  tenant = await startFakeTenant({
    cutEvery: 300,
    tokenTtlSeconds: 0.1,
    splitFrames: { seed: 42 },
    retryMs: 5,
  });
  tenant.appendMany(1500);
  const auth = { clientId: tenant.clientId, clientSecret: tenant.clientSecret };
  const reading = take(tenant, 3000, { auth, backoff: { initialMs: 5, maxMs: 20 } });
  // Keep appending while the client reads, so that cuts, token renewals and live appends interleave.
  await waitFor(() => tenant.connections.length >= 2);
  tenant.appendMany(1500, { seed: 9 });
  await waitFor(() => tenant.connections.length >= 5);
  tenant.revokeTokens();
  const { items, seen, error } = await reading;
  expect(error).toBeUndefined();
  const offsets = eventOffsets(items);
  expect(offsets).toHaveLength(3000);
  expect(offsets).toEqual(range(tenant, 0, 3000));
  const ids = items.map((item) => (item.kind === "event" ? item.event.id : ""));
  expect(new Set(ids).size).toBe(3000);
  expect(seen.malformed).toEqual([]);
  expect(tenant.connections.length).toBeGreaterThanOrEqual(10);
  expect(tenant.tokenRequests).toBeGreaterThanOrEqual(3);
}, 20_000);
