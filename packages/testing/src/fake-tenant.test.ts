import { afterEach, describe, expect, test } from "vitest";
import { events } from "./factories.js";
import { type FakeTenant, startFakeTenant } from "./fake-tenant.js";
import { waitFor } from "./wait-for.js";

let tenant: FakeTenant;
afterEach(() => tenant?.close());

/** Open the stream and collect its text until `done` says so (or EOF). */
async function read(
  query: string,
  done: (text: string) => boolean,
  headers: Record<string, string> = {},
  token = tenant.token,
): Promise<{ status: number; text: string; reads: number }> {
  const controller = new AbortController();
  const res = await fetch(`${tenant.url}/api/v2/events${query}`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
    signal: controller.signal,
  });
  let text = "";
  let reads = 0;
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      reads++;
      text += decoder.decode(chunk, { stream: true });
      if (res.status === 200 && done(text)) break;
    }
  } finally {
    controller.abort();
  }
  return { status: res.status, text, reads };
}

const count = (text: string, needle: string) => text.split(needle).length - 1;
const ids = (text: string) => [...text.matchAll(/^id: (.*)$/gm)].map((m) => m[1]);

describe("startFakeTenant", () => {
  test("speaks the frame format: :connected, retry:, then event/id/data frames", async () => {
    tenant = await startFakeTenant({ retryMs: 1234 });
    tenant.appendMany(3);
    const { text } = await read(`?from_timestamp=${new Date(0).toISOString()}`, (t) => count(t, "\n\n") >= 4);
    expect(text.startsWith(":connected\nretry: 1234\n\n")).toBe(true);
    const frame = text.split("\n\n")[1] ?? "";
    expect(frame).toMatch(
      /^event: group\.created\nid: (\S+)\ndata: \{"offset":"\1","event":\{"specversion":"1\.0"/,
    );
    expect(ids(text)).toEqual([0, 1, 2].map((i) => tenant.offsetOf(i)));
  });

  test("from resumes after the offset; Last-Event-ID wins over from; no cursor starts at the latest", async () => {
    tenant = await startFakeTenant();
    tenant.appendMany(5);
    const after1 = await read(`?from=${tenant.offsetOf(1)}`, (t) => count(t, "id: ") >= 3);
    expect(ids(after1.text)).toEqual([2, 3, 4].map((i) => tenant.offsetOf(i)));
    const header = await read(`?from=${tenant.offsetOf(0)}`, (t) => count(t, "id: ") >= 1, {
      "last-event-id": tenant.offsetOf(3),
    });
    expect(ids(header.text)).toEqual([tenant.offsetOf(4)]);
    const latest = read("", (t) => count(t, "id: ") >= 1);
    await waitFor(() => tenant.connections.length === 3 && tenant.liveConnections === 1);
    const [offset] = tenant.append(events.userCreated());
    expect(ids((await latest).text)).toEqual([offset]);
  });

  test("event_type filters, and unknown types answer 400", async () => {
    tenant = await startFakeTenant();
    tenant.appendMany(50);
    const { text } = await read(
      "?from_timestamp=2000-01-01T00:00:00Z&event_type=user.created&event_type=user.deleted",
      (t) => count(t, "id: ") >= 4,
    );
    expect([...text.matchAll(/^event: (.*)$/gm)].map((m) => m[1])).toEqual([
      "user.created",
      "user.deleted",
      "user.created",
      "user.deleted",
    ]);
    expect((await read("?event_type=user.exploded", () => true)).status).toBe(400);
  });

  test("tokens: client credentials issue expiring tokens; revoked and expired ones get 401", async () => {
    tenant = await startFakeTenant({ tokenTtlSeconds: 0.2 });
    const res = await fetch(`${tenant.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "client_credentials",
        client_id: tenant.clientId,
        client_secret: tenant.clientSecret,
      }),
    });
    const body = (await res.json()) as { access_token: string; expires_in: number };
    expect(body.expires_in).toBe(0.2);
    expect(tenant.tokenRequests).toBe(1);
    expect((await read("", () => true, {}, body.access_token)).status).toBe(200);
    await waitFor(async () => (await read("", () => true, {}, body.access_token)).status === 401);
    expect((await read("", () => true, {}, "nope")).status).toBe(401);
    const wrong = await fetch(`${tenant.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `grant_type=client_credentials&client_id=${tenant.clientId}&client_secret=wrong`,
    });
    expect(wrong.status).toBe(401);
    await wrong.text();
  });

  test("knobs: failNextConnects, expired offsets, error frames, cuts and rotation", async () => {
    tenant = await startFakeTenant({ cutEvery: 2 });
    tenant.appendMany(10);
    tenant.failNextConnects(429, 1, { "retry-after": "3" });
    const limited = await fetch(`${tenant.url}/api/v2/events`, {
      headers: { authorization: `Bearer ${tenant.token}` },
    });
    expect([limited.status, limited.headers.get("retry-after")]).toEqual([429, "3"]);
    await limited.text();
    tenant.expireOffsetsBefore(5);
    expect((await read(`?from=${tenant.offsetOf(4)}`, () => true)).status).toBe(410);
    const cut = await read(`?from=${tenant.offsetOf(5)}`, () => false);
    expect(ids(cut.text)).toEqual([6, 7].map((i) => tenant.offsetOf(i)));
    tenant.sendErrorFrame("cursor_expired");
    const errored = await read(`?from=${tenant.offsetOf(5)}`, () => false);
    expect(errored.text).toContain('event: error\ndata: {"error":{"code":"cursor_expired"');
    await tenant.close();

    tenant = await startFakeTenant({ rotateEvery: 3 });
    tenant.appendMany(10);
    const rotated = await read(`?from=${tenant.offsetOf(0)}`, () => false);
    expect(ids(rotated.text)).toHaveLength(3);
    expect(rotated.text).toMatch(/"code":"connection_timeout".*"offset":"[^"]+"/);
  });

  test("heartbeats, offset-only frames past filtered events, stall and malformed frames", async () => {
    tenant = await startFakeTenant({ heartbeatMs: 30 });
    tenant.appendMany(25);
    tenant.injectMalformed("bad-json");
    const { text } = await read(
      `?from=${tenant.offsetOf(0)}&event_type=user.created`,
      (t) => count(t, "event: offset-only") >= 1,
    );
    expect(text).toContain(": heartbeat\n\n");
    expect(text).toContain(
      `event: offset-only\nid: ${tenant.offsetOf(24)}\ndata: {"offset":"${tenant.offsetOf(24)}"}`,
    );
    expect(text).toContain('data: {"offset":"');
    expect(count(text, "event: user.created")).toBe(2);
  });

  test("splitFrames delivers the same bytes in many small reads", async () => {
    tenant = await startFakeTenant({ splitFrames: { seed: 3 } });
    tenant.appendMany(30);
    const { text, reads } = await read(
      "?from_timestamp=2000-01-01T00:00:00Z",
      (t) => count(t, "id: ") >= 30 && t.endsWith("\n\n"),
    );
    expect(ids(text)).toEqual(Array.from({ length: 30 }, (_, i) => tenant.offsetOf(i)));
    expect(text).toContain("Zoë Ångström-山田");
    expect(reads).toBeGreaterThan(30);
  });
});
