import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { events, waitFor } from "@switchyard/testing";
import Database from "better-sqlite3";
import { Registry } from "prom-client";
import { Pool, request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteStore, type SqliteStore } from "../store/sqlite/index.js";
import {
  startWebhookServer,
  startWebhookSource,
  type WebhookAuth,
  type WebhookEvent,
  type WebhookRoute,
  type WebhookSink,
  type WebhookSource,
  type WebhookSourceOptions,
} from "./webhook.js";

const TOKEN = "bearer-token-0123456789";
let dir: string;
let store: SqliteStore;
let sources: Array<Pick<WebhookSource, "close">> = [];
let logs: string[] = [];
let sinkCalls: Array<ReadonlyArray<WebhookEvent>> = [];

const log = {
  debug: (fields: object, message: string) => logs.push(JSON.stringify({ ...fields, message })),
  info: (fields: object, message: string) => logs.push(JSON.stringify({ ...fields, message })),
  warn: (fields: object, message: string) => logs.push(JSON.stringify({ ...fields, message })),
  error: (fields: object, message: string) => logs.push(JSON.stringify({ ...fields, message })),
};

/** The host's sink, in small: events and one delivery each, in one SQLite transaction, before it resolves. */
const storeSink: WebhookSink = async (items) => {
  sinkCalls.push(items);
  const result = store.ingest(
    items.map(({ event, json }) => ({
      event,
      payload: json,
      deliveries: [{ action: "a", orderKey: null, held: false }],
    })),
    undefined,
  );
  return { duplicates: result.keys.filter((key) => key === undefined).length };
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-webhook-"));
  store = openSqliteStore(join(dir, "switchyard.db"));
  logs = [];
  sinkCalls = [];
});
afterEach(async () => {
  await Promise.all(sources.map((source) => source.close()));
  sources = [];
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(
  options: Partial<WebhookSourceOptions> = {},
  sink: WebhookSink = storeSink,
  extra: { registry?: Registry; onInvalid?: (event: unknown, reason: string) => void } = {},
) {
  const registry = extra.registry ?? new Registry();
  const source = await startWebhookSource(
    { port: 0, path: "/auth0/events", auth: { bearer: TOKEN }, ...options },
    sink,
    { log, registry, onInvalid: extra.onInvalid },
  );
  sources.push(source);
  return { source, registry };
}

/** What another connection to the database sees: committed rows only. */
function storedIds(): string[] {
  const db = new Database(join(dir, "switchyard.db"), { readonly: true });
  try {
    return db
      .prepare<[], { event_id: string }>("SELECT event_id FROM events ORDER BY id")
      .all()
      .map((row) => row.event_id);
  } finally {
    db.close();
  }
}

async function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
  method: "POST" | "GET" | "PUT" = "POST",
) {
  const response = await request(url, {
    method,
    body: method === "GET" ? undefined : body,
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, ...headers },
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

async function counter(registry: Registry, name: string, labels = ""): Promise<number> {
  const text = await registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

describe("the webhook source, driven as Auth0 drives it", () => {
  it("stores an event before answering 2xx, and answers 2xx again for a retry of it", async () => {
    const { source, registry } = await start();
    const event = events.userCreated();
    const body = JSON.stringify(event);
    const first = await post(source.url, body);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text)).toEqual({ id: event.id });
    // The 2xx came after the commit: another connection already sees the row.
    expect(storedIds()).toEqual([event.id]);

    for (let i = 0; i < 3; i++) expect((await post(source.url, body)).status).toBe(200);
    expect(storedIds()).toEqual([event.id]);
    expect(sinkCalls.map((items) => items.map((i) => i.event.id))).toEqual(Array(4).fill([event.id]));
    // Auth0's exact bytes are what the store keeps.
    expect(sinkCalls[0]![0]!.json).toBe(body);
    expect(await counter(registry, "switchyard_webhook_events_total", "")).toBe(4);
  });

  it("answers only after the sink resolved", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let answered = false;
    let sinkEntered = false;
    const { source } = await start({}, async (items, tenant) => {
      sinkEntered = true;
      await gate;
      return storeSink(items, tenant);
    });
    const response = post(source.url, JSON.stringify(events.userUpdated())).then((r) => {
      answered = true;
      return r;
    });
    await waitFor(() => sinkEntered);
    expect(answered).toBe(false);
    release();
    expect((await response).status).toBe(200);
    expect(storedIds()).toHaveLength(1);
  });

  it("stores every one of many concurrent posts", async () => {
    const { source } = await start();
    const pool = new Pool(new URL(source.url).origin, { connections: 16 });
    try {
      const sent = Array.from({ length: 200 }, () => events.of("user.created"));
      const statuses = await Promise.all(
        sent.map(async (event) => {
          const response = await pool.request({
            path: "/auth0/events",
            method: "POST",
            body: JSON.stringify(event),
            headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
          });
          await response.body.dump();
          return response.statusCode;
        }),
      );
      expect(statuses.every((status) => status === 200)).toBe(true);
      expect(new Set(storedIds())).toEqual(new Set(sent.map((e) => e.id)));
    } finally {
      await pool.close();
    }
  });

  it("answers 503 with Retry-After when the store cannot be written, and recovers", async () => {
    let writable = false;
    const { source, registry } = await start({}, async (items, tenant) => {
      if (!writable) throw new Error("SQLITE_FULL: database or disk is full");
      return storeSink(items, tenant);
    });
    const body = JSON.stringify(events.userDeleted());
    const refused = await post(source.url, body);
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("5");
    expect(storedIds()).toEqual([]);
    expect(await counter(registry, "switchyard_webhook_refused_total", '{reason="unavailable"}')).toBe(1);
    writable = true;
    expect((await post(source.url, body)).status).toBe(200);
    expect(storedIds()).toHaveLength(1);
  });

  it("accepts an unknown type, and a known type whose data deviates (reported, never dropped)", async () => {
    const invalid: string[] = [];
    const { source } = await start({}, storeSink, { onInvalid: (_event, reason) => invalid.push(reason) });
    const future = { ...events.userUpdated(), type: "user.future_thing", data: { object: { x: 1 } } };
    expect((await post(source.url, JSON.stringify(future))).status).toBe(200);
    const changed = events.userCreated();
    (changed.data.object as unknown as Record<string, unknown>).user_id = 7;
    expect((await post(source.url, JSON.stringify(changed))).status).toBe(200);
    expect(storedIds()).toEqual([future.id, changed.id]);
    expect(invalid).toEqual([expect.stringMatching(/^data\.object\.user_id: /)]);
  });

  it("accepts structured CloudEvents JSON with a charset, and refuses other content types with 415", async () => {
    const { source, registry } = await start();
    const ok = await post(source.url, JSON.stringify(events.userCreated()), {
      "content-type": "application/cloudevents+json; charset=UTF-8",
    });
    expect(ok.status).toBe(200);
    for (const type of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "application/json; charset=latin1",
    ]) {
      const refused = await post(source.url, JSON.stringify(events.userCreated()), { "content-type": type });
      expect(refused.status).toBe(415);
    }
    expect(storedIds()).toHaveLength(1);
    expect(
      await counter(registry, "switchyard_webhook_refused_total", '{reason="unsupported_media_type"}'),
    ).toBe(3);
  });

  it("answers 400 naming what is wrong with a malformed body", async () => {
    const { source } = await start();
    const badJson = await post(source.url, '{"specversion":"1.0",');
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.text).message).toMatch(/not JSON/);
    const { a0tenant: _, ...withoutTenant } = events.userCreated();
    const notCloudEvent = await post(source.url, JSON.stringify(withoutTenant));
    expect(notCloudEvent.status).toBe(400);
    expect(JSON.parse(notCloudEvent.text).message).toMatch(/not an Auth0 CloudEvent: a0tenant: /);
    const array = await post(source.url, "[1]");
    expect(array.status).toBe(400);
    expect(storedIds()).toEqual([]);
  });

  it("answers 405 for other methods and 404 for other paths", async () => {
    const { source, registry } = await start();
    const get = await post(source.url, "", {}, "GET");
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST");
    expect((await post(source.url, "{}", {}, "PUT")).status).toBe(405);
    expect((await post(source.url.replace("/auth0/events", "/other"), "{}")).status).toBe(404);
    // Before a path matched there is no tenant to count it under.
    expect(await counter(registry, "switchyard_webhook_refused_total", '{reason="not_found"}')).toBe(1);
    expect((await post(`${source.url}?x=1`, JSON.stringify(events.userCreated()))).status).toBe(200);
  });

  it("answers 413 past the size cap, whether declared or streamed, and stores nothing", async () => {
    const { source, registry } = await start({ maxBodyBytes: 2048 });
    const big = JSON.stringify({ ...events.userCreated(), padding: "x".repeat(4096) });
    const declared = await post(source.url, big);
    expect(declared.status).toBe(413);
    // No Content-Length: a chunked body that only turns out too large while it is read.
    const chunks = [big.slice(0, 1000), big.slice(1000)];
    const streamed = await request(source.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: Readable.from(chunks.map((chunk) => Buffer.from(chunk))),
    });
    expect(streamed.statusCode).toBe(413);
    await streamed.body.dump();
    expect(storedIds()).toEqual([]);
    expect(sinkCalls).toEqual([]);
    expect(await counter(registry, "switchyard_webhook_refused_total", '{reason="too_large"}')).toBe(2);
    expect((await post(source.url, JSON.stringify(events.userCreated()))).status).toBe(200);
  });

  it("survives a truncated body (Content-Length larger than what was sent, then a close)", async () => {
    const { source, registry } = await start();
    const body = JSON.stringify(events.userCreated());
    const { port } = new URL(source.url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.write(
          `POST /auth0/events HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
            `authorization: Bearer ${TOKEN}\r\ncontent-length: ${body.length + 500}\r\n\r\n${body}`,
        );
        socket.end();
      });
      socket.on("error", reject);
      socket.on("close", () => resolve());
      socket.resume();
    });
    await waitFor(
      async () => (await counter(registry, "switchyard_webhook_refused_total", '{reason="aborted"}')) === 1,
    );
    expect(sinkCalls).toEqual([]);
    expect(storedIds()).toEqual([]);
    expect((await post(source.url, body)).status).toBe(200);
  });
});

describe("authorization, as the Event Stream sends it", () => {
  const cases: Array<{
    name: string;
    auth: WebhookAuth;
    good: Record<string, string>;
    bad: Array<Record<string, string>>;
    challenge: RegExp | undefined;
    secret: string;
  }> = [
    {
      name: "bearer",
      auth: { bearer: TOKEN },
      good: { authorization: `Bearer ${TOKEN}` },
      bad: [
        {},
        { authorization: `Bearer ${TOKEN}x` },
        { authorization: `Basic ${TOKEN}` },
        { authorization: "Bearer" },
      ],
      challenge: /^Bearer realm=/,
      secret: TOKEN,
    },
    {
      name: "basic",
      auth: { basic: { username: "auth0", password: "basic-password-42" } },
      good: { authorization: `Basic ${Buffer.from("auth0:basic-password-42").toString("base64")}` },
      bad: [
        {},
        { authorization: `Basic ${Buffer.from("auth0:basic-password-43").toString("base64")}` },
        { authorization: `Basic ${Buffer.from("admin:basic-password-42").toString("base64")}` },
        { authorization: "Basic !!!" },
      ],
      challenge: /^Basic realm=/,
      secret: "basic-password-42",
    },
    {
      name: "custom header",
      auth: { header: { name: "X-Switchyard-Key", value: "header-value-0042" } },
      good: { "x-switchyard-key": "header-value-0042" },
      bad: [{}, { "x-switchyard-key": "header-value-0043" }, { authorization: "Bearer header-value-0042" }],
      challenge: undefined,
      secret: "header-value-0042",
    },
  ];

  it.each(cases)("$name: 401 for missing or wrong credentials, 2xx for the right ones", async (c) => {
    const { source, registry } = await start({ auth: c.auth });
    for (const headers of c.bad) {
      const refused = await post(source.url, JSON.stringify(events.userCreated()), {
        authorization: "",
        ...headers,
      });
      expect(refused.status).toBe(401);
      if (c.challenge) expect(refused.headers["www-authenticate"]).toMatch(c.challenge);
      else expect(refused.headers["www-authenticate"]).toBeUndefined();
    }
    const event = events.userCreated();
    expect((await post(source.url, JSON.stringify(event), { authorization: "", ...c.good })).status).toBe(
      200,
    );
    expect(storedIds()).toEqual([event.id]);
    expect(await counter(registry, "switchyard_webhook_refused_total", '{reason="unauthorized"}')).toBe(
      c.bad.length,
    );
    expect(logs.join("\n")).not.toContain(c.secret);
  });
});

describe("several tenants on one server, each on its own path with its own credentials", () => {
  const TOKEN_A = "tenant-a-token-0123456789";
  const TOKEN_B = "tenant-b-token-9876543210";
  const routes: WebhookRoute[] = [
    { tenant: "a", path: "/a/events", auth: { bearer: TOKEN_A }, a0tenants: ["acme"] },
    { tenant: "b", path: "/b/events", auth: { bearer: TOKEN_B }, a0tenants: ["globex", "globex-eu"] },
  ];
  let calls: Array<{ tenant: string; a0tenants: string[] }> = [];
  const recordingSink: WebhookSink = async (items, tenant) => {
    calls.push({ tenant, a0tenants: items.map((item) => item.event.a0tenant) });
    return storeSink(items, tenant);
  };
  beforeEach(() => {
    calls = [];
  });

  async function startServer(registry = new Registry()) {
    const server = await startWebhookServer({ port: 0 }, routes, recordingSink, { log, registry });
    sources.push(server);
    const url = (tenant: string) => server.urls.find((route) => route.tenant === tenant)!.url;
    return { server, registry, url };
  }
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const from = (a0tenant: string) => JSON.stringify(events.userCreated(undefined, { a0tenant }));

  it("takes each path's own credentials only, and sinks its events under its tenant", async () => {
    const { server, registry, url } = await startServer();
    expect(server.urls).toEqual([
      { tenant: "a", url: `http://127.0.0.1:${server.port}/a/events` },
      { tenant: "b", url: `http://127.0.0.1:${server.port}/b/events` },
    ]);
    // Each tenant's token is refused on the other's path.
    expect((await post(url("b"), from("globex"), as(TOKEN_A))).status).toBe(401);
    expect((await post(url("a"), from("acme"), as(TOKEN_B))).status).toBe(401);
    expect(calls).toEqual([]);
    expect(storedIds()).toEqual([]);

    expect((await post(url("a"), from("acme"), as(TOKEN_A))).status).toBe(200);
    expect((await post(url("b"), from("globex"), as(TOKEN_B))).status).toBe(200);
    expect(calls).toEqual([
      { tenant: "a", a0tenants: ["acme"] },
      { tenant: "b", a0tenants: ["globex"] },
    ]);
    expect(storedIds()).toHaveLength(2);
    for (const tenant of ["a", "b"]) {
      const labels = `{reason="unauthorized",tenant="${tenant}"}`;
      expect(await counter(registry, "switchyard_webhook_refused_total", labels)).toBe(1);
      expect(await counter(registry, "switchyard_webhook_events_total", `{tenant="${tenant}"}`)).toBe(1);
    }
    const logged = logs.join("\n");
    expect(logged).not.toContain(TOKEN_A);
    expect(logged).not.toContain(TOKEN_B);
  });

  it("refuses an event from an Auth0 tenant the path does not serve, and sinks nothing of it", async () => {
    const { registry, url } = await startServer();
    const refused = await post(url("a"), from("globex"), as(TOKEN_A));
    expect(refused.status).toBe(422);
    expect(JSON.parse(refused.text)).toEqual({
      error: "wrong_tenant",
      message: 'a0tenant "globex" is not accepted at this path',
    });
    expect(calls).toEqual([]);
    expect(storedIds()).toEqual([]);
    const labels = '{reason="wrong_tenant",tenant="a"}';
    expect(await counter(registry, "switchyard_webhook_refused_total", labels)).toBe(1);
    const warning = logs.map((line) => JSON.parse(line)).find((line) => /a0tenant/.test(line.message));
    expect(warning).toMatchObject({ tenant: "a", a0tenant: "globex" });
    expect(logs.join("\n")).not.toContain(TOKEN_A);
  });

  it("accepts an event whose a0tenant is listed, or empty", async () => {
    const { url } = await startServer();
    expect((await post(url("b"), from("globex-eu"), as(TOKEN_B))).status).toBe(200);
    expect((await post(url("a"), from(""), as(TOKEN_A))).status).toBe(200);
    expect(calls).toEqual([
      { tenant: "b", a0tenants: ["globex-eu"] },
      { tenant: "a", a0tenants: [""] },
    ]);
    expect(storedIds()).toHaveLength(2);
  });

  it("never mixes tenants in one sink call, however many requests arrive at once", async () => {
    const { url } = await startServer();
    const posts = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0 ? post(url("a"), from("acme"), as(TOKEN_A)) : post(url("b"), from("globex"), as(TOKEN_B)),
    );
    expect((await Promise.all(posts)).map((answer) => answer.status)).toEqual(Array(40).fill(200));
    expect(storedIds()).toHaveLength(40);
    const expected: Record<string, string> = { a: "acme", b: "globex" };
    for (const call of calls) expect(new Set(call.a0tenants)).toEqual(new Set([expected[call.tenant]]));
  });

  it("refuses two routes on one path, naming both tenants", async () => {
    const clash = [...routes, { tenant: "c", path: "/a/events", auth: { bearer: "tenant-c-token-000000" } }];
    await expect(startWebhookServer({ port: 0 }, clash, recordingSink, { log })).rejects.toThrow(
      /tenants "a" and "c" both use the path \/a\/events/,
    );
  });

  it("lets two servers share one registry, counting into the same counters", async () => {
    const registry = new Registry();
    const first = await startServer(registry);
    const second = await startServer(registry);
    expect(first.server.port).not.toBe(second.server.port);
    expect((await post(first.url("a"), from("acme"), as(TOKEN_A))).status).toBe(200);
    expect((await post(second.url("a"), from("acme"), as(TOKEN_A))).status).toBe(200);
    expect(await counter(registry, "switchyard_webhook_events_total", '{tenant="a"}')).toBe(2);
  });
});
