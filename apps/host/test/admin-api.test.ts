import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory, type FakeTenant, startFakeTenant, waitFor } from "@switchyard/testing";
import { Ajv2020 } from "ajv/dist/2020.js";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { z } from "zod";
import { ActionsAnswer, DeliveriesAnswer, EventAnswer, StatusAnswer } from "../src/admin/schemas.js";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { openSqliteStore } from "../src/store/sqlite/index.js";
import { memorySource } from "./memory-source.js";
import { createTestSchema, postgresAvailable } from "./postgres.js";
import { delivered, RECORDER } from "./recorder.js";

const SECRET = "s3cret-value-that-must-not-leak";
const postgresFound = await postgresAvailable();
const TOKEN = "admin-token-0123456789abcdef";

let dir: string;
let hosts: Host[] = [];
let run = 0;
const factory = createEventFactory({ seed: 15 });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-admin-"));
  run++;
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  hosts = [];
  rmSync(dir, { recursive: true, force: true });
});

const recorder = (
  name: string,
  options: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) => ({
  name,
  plugin: RECORDER,
  events: ["*"],
  with: { id: `${run}:${name}`, ...options },
  secrets: { KEY: SECRET },
  retry: { initialDelayMs: 5, maxDelayMs: 5 },
  ...extra,
});

async function start(extra: Partial<SwitchyardConfigInput> = {}) {
  const source = memorySource();
  const loaded = finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
      state: join(dir, "state"),
      server: { port: 0 },
      actions: [
        recorder("ok"),
        recorder("flaky", { failTimes: 1 }),
        recorder("strict", { permanentTypes: ["group.created"] }),
      ],
      ...extra,
    },
    join(dir, "switchyard.yaml"),
    {},
  );
  const host = await startHost(loaded, { source, logDestination: pino.destination("/dev/null") });
  hosts.push(host);
  const base = `http://127.0.0.1:${host.port}`;
  return { host, source, base };
}

interface Answer {
  status: number;
  text: string;
  json: unknown;
}

/** A request as a client sends it, with any headers (node:http: fetch would refuse to set Host). */
function call(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      { method: options.method ?? "GET", headers: options.headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(base, path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

const deadTotal = async (base: string) =>
  ((await call(base, "/api/dead-letters")).json as { total: number }).total;

/** GET a path and check the answer against its schema; returns the parsed answer. */
async function get<S extends z.ZodType>(base: string, path: string, schema: S): Promise<z.output<S>> {
  const answer = await call(base, path);
  expect(answer.status, answer.text).toBe(200);
  expect(answer.text).not.toContain(SECRET);
  return schema.parse(answer.json);
}

describe("admin API", () => {
  it("records every attempt and finds them by event, type, action, outcome and page", async () => {
    const { source, base } = await start();
    const user = factory.event("user.created");
    const group = factory.event("group.created");
    const more = Array.from({ length: 5 }, () => factory.event("organization.updated"));
    source.push(user, group, ...more);
    await waitFor(() => delivered(`${run}:ok`).size === 7 && delivered(`${run}:flaky`).size === 7);
    // Every attempt: 7 to ok, 14 to flaky (each fails once), 7 to strict (the group event dead).
    await waitFor(async () => {
      const page = await get(base, "/api/deliveries?limit=500", DeliveriesAnswer);
      return page.items.length === 28;
    });

    const byEvent = await get(base, `/api/deliveries?eventId=${user.id}`, DeliveriesAnswer);
    expect(byEvent.items.map((a) => `${a.action}#${a.attempt}:${a.outcome}`).sort()).toEqual([
      "flaky#1:retrying",
      "flaky#2:delivered",
      "ok#1:delivered",
      "strict#1:delivered",
    ]);
    const retry = byEvent.items.find((a) => a.outcome === "retrying")!;
    expect(retry.error).toContain("flaky 1");
    expect(retry.replica).not.toBe("");

    const dead = await get(base, "/api/deliveries?outcome=dead", DeliveriesAnswer);
    expect(dead.items).toHaveLength(1);
    expect(dead.items[0]).toMatchObject({ action: "strict", eventId: group.id, eventType: "group.created" });
    // The action's error named the secret; the history has it redacted.
    expect(dead.items[0]!.error).toContain("[redacted]");

    const failed = await get(base, "/api/deliveries?outcome=failed&action=flaky", DeliveriesAnswer);
    expect(failed.items).toHaveLength(7);
    const orgs = await get(base, "/api/deliveries?type=organization.*&action=ok", DeliveriesAnswer);
    expect(orgs.items).toHaveLength(5);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await get(base, `/api/deliveries?since=${future}`, DeliveriesAnswer)).items).toHaveLength(0);

    // Pages of 3 by cursor: newest first, no attempt twice, none missed.
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await get(
        base,
        `/api/deliveries?limit=3${cursor ? `&cursor=${cursor}` : ""}`,
        DeliveriesAnswer,
      );
      seen.push(...page.items.map((a) => a.id));
      cursor = page.next;
    } while (cursor);
    expect(seen).toHaveLength(28);
    expect(new Set(seen).size).toBe(28);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));

    const bad = await call(base, "/api/deliveries?limit=0");
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: expect.stringContaining("limit") });
    expect((await call(base, "/api/deliveries?type=user.")).status).toBe(400);
    expect((await call(base, "/api/deliveries?action=nope")).status).toBe(404);
  });

  it("records the status a delivered attempt's action answered; without one, none", async () => {
    const { source, base } = await start({
      actions: [recorder("answers", { answerStatus: 202 }), recorder("silent")],
    });
    const event = factory.event("user.created");
    source.push(event);
    await waitFor(async () => {
      const page = await get(base, `/api/deliveries?eventId=${event.id}`, DeliveriesAnswer);
      return page.items.length === 2;
    });
    const page = await get(base, `/api/deliveries?eventId=${event.id}`, DeliveriesAnswer);
    const byAction = Object.fromEntries(page.items.map((a) => [a.action, a]));
    expect(byAction.answers).toMatchObject({ outcome: "delivered", status: 202 });
    expect(byAction.silent).toMatchObject({ outcome: "delivered" });
    expect(byAction.silent).not.toHaveProperty("status");
  });

  it("shows an event with its CloudEvent, its dead delivery and every attempt", async () => {
    const { source, base } = await start();
    const group = factory.event("group.created");
    source.push(group);
    await waitFor(async () => (await deadTotal(base)) === 1);
    await waitFor(async () => {
      const answer = await call(base, `/api/events/${group.id}`);
      return answer.status === 200 && (answer.json as { attempts: unknown[] }).attempts.length === 4;
    });
    const page = await get(base, `/api/events/${group.id}`, EventAnswer);
    expect(page.event).toMatchObject({ id: group.id, type: "group.created", data: group.data });
    expect(page.deliveries).toEqual([
      expect.objectContaining({ action: "strict", state: "dead", attempts: 1 }),
    ]);
    expect(page.attempts.map((a) => a.action).sort()).toEqual(["flaky", "flaky", "ok", "strict"]);
    const missing = await call(base, "/api/events/evt_nothing_like_it");
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: expect.stringContaining("evt_nothing_like_it") });
  });

  it("returns the lines an attempt printed on the event page, in order, times as ISO", async () => {
    const first = await start();
    const event = factory.event("user.created");
    first.source.push(event);
    await waitFor(() => delivered(`${run}:ok`).has(event.id));
    await first.host.stop();
    hosts = hosts.filter((h) => h !== first.host);
    // The host stopped: this store is the only writer of the state for a moment.
    const store = openSqliteStore(join(dir, "state", "switchyard.db"));
    store.recordAttempts([
      {
        action: "ok",
        eventId: event.id,
        eventType: event.type,
        attempt: 2,
        startedAt: Date.UTC(2026, 0, 1),
        durationMs: 3,
        outcome: "delivered",
        replica: "r",
        logs: [
          { level: "info", message: "POST /Users", at: Date.UTC(2026, 0, 1, 0, 0, 0, 1) },
          { level: "warn", message: "slow", at: Date.UTC(2026, 0, 1, 0, 0, 0, 2) },
        ],
      },
    ]);
    store.close();
    const { base } = await start();
    const page = await get(base, `/api/events/${event.id}`, EventAnswer);
    const printed = page.attempts.find((a) => a.attempt === 2);
    expect(printed?.logs).toEqual([
      { level: "info", message: "POST /Users", at: "2026-01-01T00:00:00.001Z" },
      { level: "warn", message: "slow", at: "2026-01-01T00:00:00.002Z" },
    ]);
    expect(page.attempts.filter((a) => a.attempt === 1).every((a) => a.logs === undefined)).toBe(true);
  });

  it("refuses to replay a dead letter its subject has outgrown (latestWins), unless forced", async () => {
    const { source, base } = await start({
      actions: [
        recorder("sync", { permanentTypes: ["user.created"] }, { events: ["user.*"], latestWins: true }),
      ],
    });
    const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
    const created = factory.event("user.created", { time: at(1), object: { user_id: "auth0|r" } });
    const updated = factory.event("user.updated", { time: at(2), object: { user_id: "auth0|r" } });
    source.push(created, updated);
    await waitFor(() => delivered(`${run}:sync`).has(updated.id));
    await waitFor(async () => (await deadTotal(base)) === 1);
    const refused = await post(base, "/api/dead-letters/replay", { action: "sync" });
    expect(refused.status).toBe(200);
    expect(refused.json).toEqual({
      count: 0,
      dryRun: false,
      refused: [
        {
          action: "sync",
          tenant: "default",
          eventId: created.id,
          reason: `a newer event of its subject was delivered to sync since (${updated.id}, ${at(2)}): replaying ${created.id} would undo it`,
        },
      ],
    });
    expect(await deadTotal(base)).toBe(1);
    const forced = await post(base, "/api/dead-letters/replay", { action: "sync", force: true });
    expect(forced.json).toEqual({ count: 1, dryRun: false });
  });

  it("lists, replays and purges dead letters, saying how many each touched", async () => {
    const { source, base } = await start();
    const groups = Array.from({ length: 3 }, () => factory.event("group.created"));
    source.push(...groups);
    await waitFor(async () => (await deadTotal(base)) === 3);

    // Pages of one by cursor, oldest first: every dead letter once.
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = (await call(base, `/api/dead-letters?limit=1${cursor ? `&cursor=${cursor}` : ""}`))
        .json as { items: Array<{ eventId: string }>; total: number; next?: string };
      expect(page.total).toBe(3);
      for (const item of page.items) expect(item).not.toHaveProperty("key");
      paged.push(...page.items.map((d) => d.eventId));
      cursor = page.next === undefined ? undefined : encodeURIComponent(page.next);
    } while (cursor);
    const listed = (await call(base, "/api/dead-letters")).json as { items: Array<{ eventId: string }> };
    expect(paged).toEqual(listed.items.map((d) => d.eventId));
    expect(new Set(paged).size).toBe(3);
    expect((await call(base, "/api/dead-letters?cursor=nope")).status).toBe(400);

    const one = await call(base, `/api/dead-letters?eventId=${groups[1]!.id}`);
    expect(one.json).toMatchObject({ total: 1, items: [{ action: "strict", eventId: groups[1]!.id }] });
    expect(one.text).not.toContain(SECRET);

    expect((await post(base, "/api/dead-letters/purge", {})).status).toBe(400);
    expect((await post(base, "/api/dead-letters/replay", {})).json).toEqual({
      error: expect.stringContaining('"all": true'),
    });
    expect((await post(base, "/api/dead-letters/purge", { all: true, dryRun: true })).json).toEqual({
      count: 3,
      dryRun: true,
    });
    expect((await post(base, "/api/dead-letters/purge", { action: "nope" })).status).toBe(404);
    expect((await post(base, "/api/dead-letters/purge", { since: "yesterday" })).status).toBe(400);

    const replay = await post(base, "/api/dead-letters/replay", { action: "strict", eventId: groups[1]!.id });
    expect(replay.json).toEqual({ count: 1, dryRun: false });
    // The replay runs at once (and fails again: the recorder refuses group events for good).
    await waitFor(async () => {
      const page = await get(
        base,
        `/api/deliveries?eventId=${groups[1]!.id}&action=strict`,
        DeliveriesAnswer,
      );
      return page.items.length === 2;
    });
    // Its attempts go on from the first: 1 before the replay, 2 after.
    const numbered = await get(
      base,
      `/api/deliveries?eventId=${groups[1]!.id}&action=strict`,
      DeliveriesAnswer,
    );
    expect(numbered.items.map((a) => [a.attempt, a.outcome])).toEqual([
      [2, "dead"],
      [1, "dead"],
    ]);
    // Dead again: the replayed delivery's row is a dead letter once more.
    await waitFor(async () => (await deadTotal(base)) === 3);
    expect((await post(base, "/api/dead-letters/purge", { eventId: groups[0]!.id })).json).toEqual({
      count: 1,
      dryRun: false,
    });
    expect((await post(base, "/api/dead-letters/purge", { type: "group.*" })).json).toEqual({
      count: 2,
      dryRun: false,
    });
    expect(await deadTotal(base)).toBe(0);
  });

  it("pauses and resumes an action: paused, its events wait; resumed, they are delivered", async () => {
    const { source, base } = await start();
    const paused = await post(base, "/api/actions/ok/pause", {});
    expect(paused.json).toEqual({ name: "ok", state: "paused" });
    const actions = await get(base, "/api/actions", ActionsAnswer);
    expect(actions.actions.find((a) => a.name === "ok")).toMatchObject({
      state: "paused",
      pausedReason: "operator",
    });
    const event = factory.event("user.created");
    source.push(event);
    await waitFor(() => delivered(`${run}:strict`).has(event.id));
    await waitFor(async () => {
      const all = await get(base, "/api/actions", ActionsAnswer);
      return all.actions.find((a) => a.name === "ok")!.queueDepth === 1;
    });
    expect(delivered(`${run}:ok`).has(event.id)).toBe(false);

    expect((await post(base, "/api/actions/ok/resume", {})).json).toEqual({ name: "ok", state: "running" });
    await waitFor(() => delivered(`${run}:ok`).has(event.id));
    await waitFor(async () => {
      const ok = (await get(base, "/api/actions", ActionsAnswer)).actions.find((a) => a.name === "ok")!;
      return ok.state === "running" && ok.lastMinute.delivered === 1 && ok.queueDepth === 0;
    });
    expect((await post(base, "/api/actions/nope/pause", {})).status).toBe(404);
  });

  it("reports the stream and this replica, and counts per action over the last minute and hour", async () => {
    const { source, base } = await start();
    const group = factory.event("group.created");
    source.push(factory.event("user.created"), group);
    await waitFor(() => delivered(`${run}:flaky`).size === 2);
    const status = await get(base, "/api/status", StatusAnswer);
    expect(status).toMatchObject({
      engine: "sqlite",
      stream: { configured: true, connected: true, leading: true, cursor: "o2" },
      // A single `source` is the one tenant `default`.
      tenants: [
        {
          tenant: "default",
          stream: { connected: true, leading: true, readingAhead: false, cursor: "o2" },
        },
      ],
      ready: true,
    });
    await waitFor(async () => {
      const strict = (await get(base, "/api/actions", ActionsAnswer)).actions.find(
        (a) => a.name === "strict",
      )!;
      return strict.lastHour.dead === 1;
    });
    const { actions } = await get(base, "/api/actions", ActionsAnswer);
    const strict = actions.find((a) => a.name === "strict")!;
    expect(strict).toMatchObject({
      state: "running",
      lastMinute: { delivered: 1, failed: 1, dead: 1 },
      deadLetters: 1,
      lastError: { message: expect.stringContaining("[redacted]") },
    });
    // Two attempts ran in the hour; the recorder answers at once, so both are in the first bucket (≤ 5 ms).
    expect(strict.latency.attempts).toBe(2);
    expect(strict.latency.p50Ms).toBeGreaterThan(0);
    expect(strict.latency.p50Ms).toBeLessThanOrEqual(strict.latency.p99Ms!);
    const slow = await start({ state: join(dir, "slow"), actions: [recorder("slow", { delayMs: 60 })] });
    slow.source.push(factory.event("user.created"));
    await waitFor(async () => {
      const [one] = (await get(slow.base, "/api/actions", ActionsAnswer)).actions;
      return one!.latency.attempts === 1;
    });
    const [one] = (await get(slow.base, "/api/actions", ActionsAnswer)).actions;
    // 60 ms and a little more: in (50, 100], the bucket's estimate.
    expect(one!.latency.p50Ms).toBeGreaterThan(50);
    expect(one!.latency.p99Ms).toBeLessThanOrEqual(250);
    const activity = (await call(base, "/api/activity?minutes=5")).json as {
      minutes: Array<{ action: string }>;
    };
    expect(activity.minutes.map((m) => m.action).sort()).toEqual(["flaky", "ok", "strict"]);
  });

  it("with history.retention off, records no attempt and still delivers", async () => {
    const off = await start({ history: { retention: "off" } });
    const event = factory.event("user.created");
    off.source.push(event);
    await waitFor(() => delivered(`${run}:flaky`).has(event.id));
    // Stopping flushes whatever history was kept; a host with the history on then finds none in the store.
    await off.host.stop();
    hosts = hosts.filter((h) => h !== off.host);
    const { base } = await start();
    expect((await get(base, "/api/deliveries", DeliveriesAnswer)).items).toEqual([]);
    const ok = (await get(base, "/api/actions", ActionsAnswer)).actions.find((a) => a.name === "ok")!;
    expect(ok.lastHour).toEqual({ delivered: 0, failed: 0, dead: 0, stale: 0 });
  });

  it("serves an OpenAPI 3.1 document whose schemas the answers satisfy", async () => {
    const { source, base } = await start();
    source.push(factory.event("user.created"), factory.event("group.created"));
    await waitFor(() => delivered(`${run}:flaky`).size === 2);
    const doc = (await call(base, "/api/openapi.json")).json as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { responses: Record<string, unknown>; parameters?: Array<{ name: string }> }>
      >;
      components: { schemas: Record<string, object> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/api/deliveries", "/api/events/{eventId}", "/api/dead-letters/replay"]),
    );
    // The activity and the actions count one tenant's attempts with `tenant`.
    for (const path of ["/api/activity", "/api/actions"]) {
      expect(doc.paths[path]!.get!.parameters?.map((p) => p.name)).toContain("tenant");
    }
    // Every $ref points at a component.
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/\w+/g) ?? [];
    for (const ref of refs) expect(doc.components.schemas).toHaveProperty(ref.split("/").at(-1)!);

    const ajv = new Ajv2020({ strict: false });
    ajv.addFormat("date-time", true);
    ajv.addSchema({ $id: "api", components: doc.components });
    const check = async (path: string, component: string) => {
      const answer = (await call(base, path)).json;
      const valid = ajv.validate({ $ref: `api#/components/schemas/${component}` }, answer);
      expect(valid, `${path}: ${ajv.errorsText()}`).toBe(true);
    };
    await waitFor(async () => (await deadTotal(base)) === 1);
    await check("/api/status", "Status");
    await check("/api/actions", "Actions");
    await check("/api/deliveries", "Deliveries");
    await check("/api/dead-letters", "DeadLetters");
    await check("/api/activity", "Activity");
  });
});

describe("admin API with several tenants (`sources`)", () => {
  const HOOK_TOKEN = "stage-hook-token-0123456789";
  let fakes: FakeTenant[] = [];
  afterEach(async () => {
    await Promise.all(fakes.map((f) => f.close()));
    fakes = [];
  });

  /** prod read from a memory stream, dev from a fake tenant, stage only through a webhook. */
  async function startTenants() {
    const prod = memorySource();
    const dev = await startFakeTenant();
    fakes.push(dev);
    const loaded = finishConfig(
      {
        sources: [
          { tenant: "prod", auth0: { domain: "unused.example", token: "t0ken-secret" } },
          { tenant: "dev", auth0: { domain: dev.url, token: dev.token } },
          {
            tenant: "stage",
            webhook: { port: 0, path: "/auth0/stage", auth: { bearer: HOOK_TOKEN } },
          },
        ],
        state: join(dir, "state"),
        server: { port: 0 },
        actions: [
          recorder("strict", { permanentTypes: ["group.created"] }),
          recorder("signups", {}, { tenants: ["prod"] }),
          recorder("staging", {}, { tenants: ["dev", "stage"] }),
        ],
      },
      join(dir, "switchyard.yaml"),
      {},
    );
    const host = await startHost(loaded, { source: prod, logDestination: pino.destination("/dev/null") });
    hosts.push(host);
    // Without a cursor a tenant's stream starts at its newest event: append only once it is connected.
    await waitFor(() => dev.liveConnections === 1);
    return { prod, dev, base: `http://127.0.0.1:${host.port}` };
  }

  it("lists each tenant's stream and webhook in the status; the host's own `stream` stays as it was", async () => {
    const { prod, dev, base } = await startTenants();
    prod.push(factory.event("user.created"));
    const [devOffset] = dev.append(factory.event("user.created"));
    await waitFor(() => delivered(`${run}:staging`).size === 1 && delivered(`${run}:signups`).size === 1);
    const status = await get(base, "/api/status", StatusAnswer);
    const stage = status.tenants[2]?.webhook?.url;
    expect(status).toMatchObject({
      stream: { configured: true, connected: true, leading: true },
      webhook: { url: stage },
      tenants: [
        {
          tenant: "prod",
          stream: { connected: true, leading: true, readingAhead: false, cursor: "o1" },
        },
        { tenant: "dev", stream: { connected: true, leading: true, cursor: devOffset } },
        { tenant: "stage" },
      ],
    });
    expect(stage).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/auth0\/stage$/);
    // Only a stream has a cursor; SQLite has no lease, so no leader is named.
    expect(status.tenants[2]).not.toHaveProperty("stream");
    expect(status.tenants[0]).not.toHaveProperty("webhook");
    expect(status.tenants[0]!.stream).not.toHaveProperty("leader");
  });

  it.skipIf(!postgresFound)(
    "with Postgres state, names each tenant's leader on every replica, the one that leads it",
    async () => {
      const schema = await createTestSchema();
      const prod = await startFakeTenant();
      const dev = await startFakeTenant();
      fakes.push(prod, dev);
      const bases: string[] = [];
      try {
        for (const replica of ["api-one", "api-two"]) {
          const loaded = finishConfig(
            {
              sources: [
                { tenant: "prod", auth0: { domain: prod.url, token: prod.token } },
                { tenant: "dev", auth0: { domain: dev.url, token: dev.token } },
              ],
              state: schema.url,
              server: { port: 0 },
              actions: [recorder("strict")],
            },
            join(dir, "switchyard.yaml"),
            {},
          );
          process.env.SWITCHYARD_REPLICA_ID = replica;
          try {
            const host = await startHost(loaded, { logDestination: pino.destination("/dev/null") });
            hosts.push(host);
            bases.push(`http://127.0.0.1:${host.port}`);
          } finally {
            delete process.env.SWITCHYARD_REPLICA_ID;
          }
        }
        // Each replica's view of each tenant: who leads it (from the lease) and whether this one does.
        const views = async () => {
          const statuses = await Promise.all(bases.map((base) => get(base, "/api/status", StatusAnswer)));
          return statuses.flatMap((status) =>
            status.tenants.map(({ tenant, stream }) => ({
              tenant,
              replica: status.replica,
              leader: stream?.leader,
              leading: stream?.leading,
            })),
          );
        };
        // Leases move while the streams spread over the replicas: wait for a view that agrees.
        await waitFor(
          async () => {
            const all = await views();
            return ["prod", "dev"].every((tenant) => {
              const mine = all.filter((view) => view.tenant === tenant);
              const leader = mine[0]?.leader;
              return (
                leader !== undefined &&
                mine.length === 2 &&
                mine.every((view) => view.leader === leader && view.leading === (view.replica === leader))
              );
            });
          },
          { timeoutMs: 20_000, message: "both replicas naming each tenant's leader, which leads it" },
        );
      } finally {
        await Promise.all(hosts.map((h) => h.stop()));
        hosts = [];
        await schema.drop();
      }
    },
  );

  it("lists each action's tenants, and only those that take a tenant's events with ?tenant=", async () => {
    const { base } = await startTenants();
    const tenantsOf = async (path: string) =>
      (await get(base, path, ActionsAnswer)).actions.map((a) => [a.name, a.tenants]);
    expect(await tenantsOf("/api/actions")).toEqual([
      ["strict", ["prod", "dev", "stage"]],
      ["signups", ["prod"]],
      ["staging", ["dev", "stage"]],
    ]);
    expect(await tenantsOf("/api/actions?tenant=stage")).toEqual([
      ["strict", ["prod", "dev", "stage"]],
      ["staging", ["dev", "stage"]],
    ]);
    expect(await tenantsOf("/api/actions?tenant=prod")).toEqual([
      ["strict", ["prod", "dev", "stage"]],
      ["signups", ["prod"]],
    ]);
    const unknown = await call(base, "/api/actions?tenant=qa");
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: 'unknown tenant "qa" (configured: prod, dev, stage)' });
    expect((await call(base, "/api/actions?tenant=")).status).toBe(400);
  });

  it("counts one tenant's attempts and deliveries with ?tenant=: an action's last hour, latency, last error, queue depth and dead letters, and the activity", async () => {
    const { prod, dev, base } = await startTenants();
    // strict serves both: prod's group event goes dead (a permanent failure), the user events are delivered.
    prod.push(factory.event("user.created"), factory.event("user.created"), factory.event("group.created"));
    dev.append(factory.event("user.created"));
    const strictOf = async (query: string) =>
      (await get(base, `/api/actions${query}`, ActionsAnswer)).actions.find((a) => a.name === "strict")!;
    await waitFor(
      async () => {
        const { lastHour } = await strictOf("");
        return lastHour.delivered === 3 && lastHour.dead === 1;
      },
      { message: "strict's attempts in the rollup" },
    );
    const all = await strictOf("");
    const onProd = await strictOf("?tenant=prod");
    const onDev = await strictOf("?tenant=dev");
    const onStage = await strictOf("?tenant=stage");
    expect(all.lastHour).toEqual({ delivered: 3, failed: 1, dead: 1, stale: 0 });
    expect(onProd.lastHour).toEqual({ delivered: 2, failed: 1, dead: 1, stale: 0 });
    expect(onDev.lastHour).toEqual({ delivered: 1, failed: 0, dead: 0, stale: 0 });
    expect(onStage.lastHour).toEqual({ delivered: 0, failed: 0, dead: 0, stale: 0 });
    expect([all, onProd, onDev, onStage].map((a) => a.latency.attempts)).toEqual([4, 3, 1, 0]);
    expect(onStage.latency).not.toHaveProperty("p50Ms");
    expect(all.lastError).toBeDefined();
    expect(onProd.lastError).toEqual(all.lastError);
    expect(onDev).not.toHaveProperty("lastError");

    // Paused, strict's new events wait in its queue: two of prod's, one of dev's. The dead letter is prod's.
    expect((await post(base, "/api/actions/strict/pause", {})).status).toBe(200);
    prod.push(factory.event("user.created"), factory.event("user.created"));
    dev.append(factory.event("user.created"));
    await waitFor(async () => (await strictOf("")).queueDepth === 3, { message: "strict's queue" });
    const counts = async (query: string) => {
      const { queueDepth, deadLetters } = await strictOf(query);
      return { queueDepth, deadLetters };
    };
    expect(await counts("")).toEqual({ queueDepth: 3, deadLetters: 1 });
    expect(await counts("?tenant=prod")).toEqual({ queueDepth: 2, deadLetters: 1 });
    expect(await counts("?tenant=dev")).toEqual({ queueDepth: 1, deadLetters: 0 });
    expect(await counts("?tenant=stage")).toEqual({ queueDepth: 0, deadLetters: 0 });

    const attempts = async (query: string) => {
      const answer = await call(base, `/api/activity${query}`);
      expect(answer.status, answer.text).toBe(200);
      const { minutes } = answer.json as {
        minutes: Array<{ action: string; delivered: number; dead: number }>;
      };
      const strict = minutes.filter((m) => m.action === "strict");
      return strict.reduce((sum, m) => sum + m.delivered + m.dead, 0);
    };
    expect(await attempts("")).toBe(4);
    expect(await attempts("?tenant=prod")).toBe(3);
    expect(await attempts("?tenant=dev")).toBe(1);
    expect(await attempts("?tenant=stage")).toBe(0);
    const unknown = await call(base, "/api/activity?tenant=qa");
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: 'unknown tenant "qa" (configured: prod, dev, stage)' });
    expect((await call(base, "/api/activity?tenant=")).status).toBe(400);
  });

  it("lists, counts, replays and purges one tenant's dead letters with ?tenant= and {tenant}", async () => {
    const { prod, dev, base } = await startTenants();
    const prodGroups = [factory.event("group.created"), factory.event("group.created")];
    const devGroup = factory.event("group.created");
    prod.push(...prodGroups);
    dev.append(devGroup);
    await waitFor(async () => (await deadTotal(base)) === 3);
    const listed = async (query: string) => {
      const answer = await call(base, `/api/dead-letters${query}`);
      expect(answer.status, answer.text).toBe(200);
      const page = answer.json as { items: Array<{ tenant: string; eventId: string }>; total: number };
      return { total: page.total, items: page.items.map((d) => [d.tenant, d.eventId]) };
    };
    expect(await listed("")).toEqual({
      total: 3,
      items: expect.arrayContaining([
        ["prod", prodGroups[0]!.id],
        ["prod", prodGroups[1]!.id],
        ["dev", devGroup.id],
      ]),
    });
    expect(await listed("?tenant=dev")).toEqual({ total: 1, items: [["dev", devGroup.id]] });
    expect((await listed("?tenant=prod&limit=1")).total).toBe(2);
    expect(await listed("?tenant=stage")).toEqual({ total: 0, items: [] });
    expect((await call(base, "/api/dead-letters?tenant=qa")).status).toBe(404);

    expect((await post(base, "/api/dead-letters/purge", { tenant: "dev", dryRun: true })).json).toEqual({
      count: 1,
      dryRun: true,
    });
    expect((await post(base, "/api/dead-letters/purge", { tenant: "qa" })).status).toBe(404);
    expect((await post(base, "/api/dead-letters/purge", { tenant: "dev" })).json).toEqual({
      count: 1,
      dryRun: false,
    });
    // The audit log says whose: a tenant's purge is not every dead letter's.
    const audit = (await call(base, "/api/audit")).json as { items: Array<Record<string, unknown>> };
    expect(audit.items[0]).toMatchObject({
      operation: "purge",
      selection: { tenant: "dev" },
      result: { count: 1 },
    });
    expect(await listed("")).toMatchObject({ total: 2 });
    expect((await listed("?tenant=dev")).total).toBe(0);
    const replay = await post(base, "/api/dead-letters/replay", { tenant: "prod", dryRun: true });
    expect(replay.json).toEqual({ count: 2, dryRun: true });
  });
});

describe("admin API safety", () => {
  it("binds loopback by default and refuses foreign Host headers, cross-origin and non-JSON changes", async () => {
    const { source, base } = await start();
    source.push(factory.event("group.created"));
    await waitFor(async () => (await deadTotal(base)) === 1);

    // DNS rebinding: a hostile name resolving to 127.0.0.1.
    const rebound = await call(base, "/api/dead-letters", { headers: { host: "evil.example:9464" } });
    expect(rebound.status).toBe(421);
    expect((await call(base, "/", { headers: { host: "evil.example" } })).status).toBe(421);
    expect((await call(base, "/api/status", { headers: { host: "localhost:1" } })).status).toBe(200);

    // A plain form post (what a hostile page can send without a preflight).
    const form = await call(base, "/api/dead-letters/purge", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "all=true",
    });
    expect(form.status).toBe(415);
    const textPlain = await call(base, "/api/dead-letters/purge", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ all: true }),
    });
    expect(textPlain.status).toBe(415);
    // A cross-site fetch that got past all that still names its origin.
    const crossSite = await post(
      base,
      "/api/dead-letters/purge",
      { all: true },
      { origin: "https://evil.example" },
    );
    expect(crossSite.status).toBe(403);
    const fetchMeta = await post(
      base,
      "/api/dead-letters/purge",
      { all: true },
      { "sec-fetch-site": "cross-site" },
    );
    expect(fetchMeta.status).toBe(403);
    expect(await deadTotal(base)).toBe(1);

    // The page's own origin may change things.
    const own = await post(base, "/api/dead-letters/purge", { all: true, dryRun: true }, { origin: base });
    expect(own.json).toEqual({ count: 1, dryRun: true });
    expect((await call(base, "/api/dead-letters/purge", { method: "DELETE" })).status).toBe(405);
  });

  it("with an admin token, every API call needs it; it never appears in an answer", async () => {
    const { base } = await start({ server: { port: 0, adminToken: TOKEN } });
    const none = await call(base, "/api/status");
    expect(none.status).toBe(401);
    expect(none.text).not.toContain(TOKEN);
    expect(
      (await call(base, "/api/status", { headers: { authorization: "Bearer wrong-token-0123456789" } }))
        .status,
    ).toBe(401);
    const bearer = { authorization: `Bearer ${TOKEN}` };
    const ok = await call(base, "/api/status", { headers: bearer });
    expect(ok.status).toBe(200);
    expect(ok.text).not.toContain(TOKEN);
    // The token stands for the same-origin proof; any Host is fine (a rebinding page has no token).
    expect(
      (await call(base, "/api/actions", { headers: { ...bearer, host: "switchyard.internal" } })).status,
    ).toBe(200);
    expect((await post(base, "/api/actions/ok/pause", {}, { origin: base })).status).toBe(401);
    expect((await post(base, "/api/actions/ok/pause", {}, bearer)).json).toEqual({
      name: "ok",
      state: "paused",
    });
    // Health and metrics stay open to probes and scrapers.
    expect((await call(base, "/healthz")).status).toBe(200);
    expect((await call(base, "/metrics")).text).not.toContain(TOKEN);
  });

  it("answers 400, never 500, to NUL bytes, control characters and malformed percent-encoding", async () => {
    const { base, host } = await start();
    for (const path of [
      "/api/events/evt_%00x",
      "/api/events/%E0%A4%A",
      "/api/events/%",
      "/api/deliveries?eventId=evt_%00x",
      "/api/dead-letters?action=ok%0Aforged",
    ]) {
      const answer = await call(base, path);
      expect(answer.status, `${path}: ${answer.text}`).toBe(400);
    }
    const body = await post(base, "/api/dead-letters/replay", { eventId: "evt_\u0000x" });
    expect(body.status, body.text).toBe(400);
    expect((await call(base, "/healthz")).status).toBe(200);
    expect(host.port).toBeGreaterThan(0);
  });

  it("refuses to listen beyond loopback without an admin token", () => {
    const config = (server: Record<string, unknown>) => () =>
      finishConfig(
        {
          source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
          server,
          actions: [recorder("ok")],
        },
        join(dir, "switchyard.yaml"),
        {},
      );
    expect(config({ host: "0.0.0.0" })).toThrow(/server\.host.*adminToken/s);
    expect(config({ host: "0.0.0.0", adminToken: "short" })).toThrow(/adminToken.*16 characters/s);
    expect(config({ host: "0.0.0.0", adminToken: TOKEN })).not.toThrow();
    expect(config({ host: "::1" })).not.toThrow();
    expect(config({ host: "localhost" })).not.toThrow();
  });
});
