import { type FakeTenant, startFakeTenant, waitFor } from "@switchyard/testing";
import { afterEach, describe, expect, test } from "vitest";
import { StreamError } from "../src/index.js";
import { eventOffsets, range, take } from "./helpers.js";

let tenant: FakeTenant;
afterEach(() => tenant?.close());

describe("stream(): client-credentials tokens", () => {
  test("gets one token, caches it across reconnects, and sends it as a Bearer token", async () => {
    tenant = await startFakeTenant({ cutEvery: 3 });
    tenant.appendMany(9);
    const auth = { clientId: tenant.clientId, clientSecret: tenant.clientSecret };
    const { items } = await take(tenant, 9, { auth });
    expect(eventOffsets(items)).toEqual(range(tenant, 0, 9));
    expect(tenant.tokenRequests).toBe(1);
    expect(tenant.connections.every((c) => String(c.headers.authorization).startsWith("Bearer tok_"))).toBe(
      true,
    );
  });

  test("renews the token before it expires", async () => {
    tenant = await startFakeTenant({ tokenTtlSeconds: 0.5 });
    tenant.appendMany(1);
    const reading = take(tenant, 2, {
      auth: { clientId: tenant.clientId, clientSecret: tenant.clientSecret },
    });
    await waitFor(() => tenant.liveConnections === 1);
    await new Promise((resolve) => setTimeout(resolve, 450));
    tenant.dropConnections();
    await waitFor(() => tenant.connections.length === 2);
    tenant.appendMany(1);
    const { items, seen } = await reading;
    expect(eventOffsets(items)).toEqual(range(tenant, 0, 2));
    expect(tenant.tokenRequests).toBe(2);
    expect(seen.reconnects.map((r) => r.reason)).toEqual(["network"]);
  });

  test("renews the token after a 401, at once", async () => {
    tenant = await startFakeTenant();
    tenant.appendMany(1);
    const reading = take(tenant, 2, {
      auth: { clientId: tenant.clientId, clientSecret: tenant.clientSecret },
    });
    await waitFor(() => tenant.liveConnections === 1);
    tenant.revokeTokens();
    tenant.dropConnections();
    await waitFor(() => tenant.liveConnections === 1 && tenant.connections.length === 3);
    tenant.appendMany(1);
    const { items, seen } = await reading;
    expect(eventOffsets(items)).toEqual(range(tenant, 0, 2));
    expect(tenant.tokenRequests).toBe(2);
    expect(seen.reconnects.map((r) => [r.reason, r.reason === "http_401" ? r.delayMs : 0])).toEqual([
      ["network", 0],
      ["http_401", 0],
    ]);
  });

  test("refused credentials stop with a clear error that holds no secret", async () => {
    tenant = await startFakeTenant();
    const { error } = await take(tenant, 1, {
      auth: { clientId: tenant.clientId, clientSecret: "s3cret-wrong" },
    });
    expect(error).toBeInstanceOf(StreamError);
    expect((error as StreamError).code).toBe("UNAUTHORIZED");
    expect((error as Error).message).toMatch(/clientSecret/);
    expect((error as Error).message).not.toContain("s3cret-wrong");
    expect(tenant.tokenRequests).toBe(1);
    expect(tenant.connections).toHaveLength(0);
  });

  test("audience defaults to {domain}/api/v2/", async () => {
    let audience: unknown;
    const { startFakeServer } = await import("@switchyard/testing");
    const server = await startFakeServer((request) => {
      audience = (request.json as { audience?: unknown }).audience;
      return { status: 401, body: { error: "access_denied" } };
    });
    await take({ url: server.url, token: "unused" } as FakeTenant, 1, {
      domain: `${server.url}/`,
      auth: { clientId: "a", clientSecret: "b" },
    });
    expect(audience).toBe(`${server.url}/api/v2/`);
    await server.close();
  });
});
