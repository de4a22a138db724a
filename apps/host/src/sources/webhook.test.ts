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
import { openSqliteStore, type SqliteStore } from "../store/sqlite.js";
import {
  startWebhookSource,
  type WebhookAuth,
  type WebhookEvent,
  type WebhookSink,
  type WebhookSource,
  type WebhookSourceOptions,
} from "./webhook.js";

const TOKEN = "bearer-token-0123456789";
let dir: string;
let store: SqliteStore;
let sources: WebhookSource[] = [];
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
      deliveries: [{ action: "a", orderKey: null, claimed: false }],
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
    expect(await counter(registry, "switchyard_webhook_events_total")).toBe(4);
  });

  it("answers only after the sink resolved", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let answered = false;
    let sinkEntered = false;
    const { source } = await start({}, async (items) => {
      sinkEntered = true;
      await gate;
      return storeSink(items);
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
    const { source, registry } = await start({}, async (items) => {
      if (!writable) throw new Error("SQLITE_FULL: database or disk is full");
      return storeSink(items);
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
    const { source } = await start();
    const get = await post(source.url, "", {}, "GET");
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST");
    expect((await post(source.url, "{}", {}, "PUT")).status).toBe(405);
    expect((await post(source.url.replace("/auth0/events", "/other"), "{}")).status).toBe(404);
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
