import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEventFactory, startFakeServer, waitFor } from "@switchyard/testing";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { openStore } from "../src/store/open.js";
import { lineSink } from "./log-lines.js";
import { memorySource } from "./memory-source.js";
import { delivered, RECORDER, recorded } from "./recorder.js";

const AUTH0_EXAMPLE = fileURLToPath(
  new URL("../../../examples/auth0-action/actions/forward.js", import.meta.url),
);
const TS_ACTION = fileURLToPath(new URL("./fixtures/actions/count.ts", import.meta.url));

let dir: string;
let hosts: Host[] = [];
let logs: string[] = [];
let run = 0;
const factory = createEventFactory({ seed: 11 });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-host-"));
  logs = [];
  run++;
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  hosts = [];
  rmSync(dir, { recursive: true, force: true });
});

function action(
  name: string,
  events: string[],
  options: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) {
  return { name, plugin: RECORDER, events, with: { id: `${run}:${name}`, ...options }, ...extra };
}

async function start(
  actions: SwitchyardConfigInput["actions"],
  source = memorySource(),
  extra: Partial<SwitchyardConfigInput> = {},
) {
  const loaded = finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
      state: join(dir, "state"),
      server: { port: 0 },
      log: { level: "debug" },
      actions,
      ...extra,
    },
    join(dir, "switchyard.yaml"),
    {},
  );
  const sink = lineSink((line) => logs.push(line));
  const host = await startHost(loaded, { source, logDestination: sink });
  hosts.push(host);
  return { host, source, loaded };
}

describe("host (in process)", () => {
  it("routes each event to every matching action and nowhere else", async () => {
    const { source } = await start([
      action("users", ["user.*"]),
      action("members", ["organization.member.*"]),
      action("all", ["*"]),
      action("no-tests", ["*"], {}, { testEvents: false }),
    ]);
    const events = [
      ...factory.many(25),
      factory.event("session.revoked", { object: { id: "s1" } }),
      factory.event("user.created", { a0purpose: "test" }),
    ];
    source.push(...events);
    const all = new Set(events.map((e) => e.id));
    await waitFor(() => delivered(`${run}:all`).size === all.size);
    await waitFor(() => delivered(`${run}:no-tests`).size === all.size - 1);
    expect(delivered(`${run}:users`)).toEqual(
      new Set(events.filter((e) => e.type.startsWith("user.")).map((e) => e.id)),
    );
    expect(delivered(`${run}:members`)).toEqual(
      new Set(events.filter((e) => e.type.startsWith("organization.member.")).map((e) => e.id)),
    );
    expect([...delivered(`${run}:no-tests`)]).not.toContain(events.at(-1)!.id);
  });

  it("delivers an upstream duplicate once per action", async () => {
    const { source } = await start([action("a", ["*"])]);
    const [event] = factory.many(1);
    source.push(event!, event!, event!);
    await waitFor(() => delivered(`${run}:a`).size === 1);
    source.push(...factory.many(1));
    await waitFor(() => delivered(`${run}:a`).size === 2);
    expect(recorded(`${run}:a`).filter((a) => a.id === event!.id)).toHaveLength(1);
  });

  it("retries with backoff and honours retryAfterMs", async () => {
    const { source } = await start([
      action(
        "flaky",
        ["*"],
        { failTimes: 2 },
        { retry: { maxAttempts: 5, initialDelayMs: 20, maxDelayMs: 50 } },
      ),
      action(
        "later",
        ["*"],
        { failTimes: 1, retryAfterMs: 300 },
        { retry: { maxAttempts: 3, initialDelayMs: 1 } },
      ),
    ]);
    const [event] = factory.many(1);
    source.push(event!);
    await waitFor(() => delivered(`${run}:flaky`).size === 1 && delivered(`${run}:later`).size === 1);
    expect(recorded(`${run}:flaky`).map((a) => a.attempt)).toEqual([1, 2, 3]);
    const [first, second] = recorded(`${run}:later`);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(290);
  });

  it("dead-letters permanent failures and exhausted retries, and replays them", async () => {
    const { source, loaded } = await start([
      action("strict", ["*"], { permanentTypes: ["user.deleted"] }, { secrets: { KEY: "super-secret-key" } }),
      action("flaky", ["user.deleted"], { failTimes: 99 }, { retry: { maxAttempts: 2, initialDelayMs: 5 } }),
    ]);
    const deleted = factory.byType["user.deleted"]();
    const created = factory.byType["user.created"]();
    source.push(deleted, created);
    const store = await openStore(loaded);
    try {
      await waitFor(async () => (await store.listDead()).length === 2);
      const dead = await store.listDead();
      expect(dead.map((d) => [d.action, d.eventId, d.attempts])).toEqual(
        expect.arrayContaining([
          ["strict", deleted.id, 1],
          ["flaky", deleted.id, 2],
        ]),
      );
      expect(dead.find((d) => d.action === "strict")!.lastError).toContain("[redacted]");
      expect(dead.find((d) => d.action === "flaky")!.lastError).toMatch(/gave up after 2 attempts/);
      expect(delivered(`${run}:strict`)).toEqual(new Set([created.id]));
      expect(logs.join("\n")).not.toContain("super-secret-key");
      // The running host picks up replayed deliveries, with their attempts counted from 1 again. (It fails
      // again and soon retries: wait for the replayed attempt itself, not for an exact count of attempts.)
      const replayedAt = Date.now();
      expect(await store.replayDead({ action: "flaky" }, Date.now())).toBe(1);
      await waitFor(() => recorded(`${run}:flaky`).some((a) => a.at >= replayedAt && a.attempt === 1));
    } finally {
      await store.close();
    }
  });

  it("pauses an action after N consecutive failures, alerts through another action, and resumes from the store", async () => {
    const { source, loaded } = await start([
      action(
        "flaky",
        ["user.*"],
        { failTimes: 1 },
        { pauseAfterFailures: 5, alert: "oncall", retry: { maxAttempts: 10, initialDelayMs: 10 } },
      ),
      action("oncall", ["organization.*"]),
    ]);
    const first = Array.from({ length: 5 }, () => factory.event("user.created"));
    source.push(...first);
    const store = await openStore(loaded);
    try {
      const state = await waitFor(async () => (await store.actionStates()).flaky);
      expect(state).toMatchObject({ paused: true });
      expect(state.reason).toMatch(/5 consecutive failed attempts; the last: .*flaky 1/);
      await waitFor(() =>
        recorded(`${run}:oncall`).some((a) => a.type === "switchyard.action.paused" && a.done),
      );
      expect(
        logs.some((line) => line.includes('"level":"error"') && line.includes("paused after too many")),
      ).toBe(true);

      // Paused: new events are recorded, not attempted.
      const attempts = recorded(`${run}:flaky`).length;
      const later = Array.from({ length: 3 }, () => factory.event("user.updated"));
      source.push(...later);
      await waitFor(async () => (await store.stats()).pending.flaky === 8);
      expect(recorded(`${run}:flaky`).length).toBe(attempts);

      // Resumed from outside (as `switchyard actions resume` does): the backlog is delivered.
      await store.setActionState("flaky", { paused: false });
      await waitFor(() => delivered(`${run}:flaky`).size === 8);
      expect(recorded(`${run}:oncall`).filter((a) => a.type === "switchyard.action.paused")).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it("holds no delivery of a paused action and loses none when paused from outside", async () => {
    const { source, loaded } = await start([action("target", ["*"]), action("other", ["*"])]);
    const store = await openStore(loaded);
    try {
      await store.setActionState("target", { paused: true, reason: "operator", since: Date.now() });
      await waitFor(() => logs.some((line) => line.includes("action paused")));
      const events = factory.many(40);
      source.push(...events);
      await waitFor(() => delivered(`${run}:other`).size === 40);
      expect(recorded(`${run}:target`)).toHaveLength(0);
      await store.setActionState("target", { paused: false });
      await waitFor(() => delivered(`${run}:target`).size === 40);
    } finally {
      await store.close();
    }
  });

  it("takes Auth0's webhook deliveries beside the stream: stored before the 2xx, a retried event delivered once", async () => {
    const { source, host } = await start([action("all", ["*"])], memorySource(), {
      source: {
        auth0: { domain: "unused.example", token: "t0ken-secret" },
        webhook: { port: 0, path: "/auth0/events", auth: { bearer: "hook-secret" } },
      },
    });
    const url = await waitFor(() => logs.map((l) => /"webhook (http:[^"]+)"/.exec(l)?.[1]).find(Boolean));
    const pushed = factory.byType["user.created"]();
    const post = (token: string) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(pushed),
      });
    expect((await post("wrong")).status).toBe(401);
    expect((await post("hook-secret")).status).toBeLessThan(300);
    expect((await post("hook-secret")).status).toBeLessThan(300);
    const streamed = factory.byType["organization.created"]();
    source.push(streamed);
    await waitFor(() => delivered(`${run}:all`).size === 2);
    expect(recorded(`${run}:all`).filter((a) => a.id === pushed.id)).toHaveLength(1);
    expect(host.port).toBeGreaterThan(0);
    expect(logs.join("\n")).not.toContain("hook-secret");
  });

  it("keeps a slow or hanging action from delaying the others", async () => {
    const { source } = await start([
      action("hangs", ["*"], { hang: true }, { timeoutMs: 200, concurrency: 2, retry: { maxAttempts: 1 } }),
      action("slow", ["*"], { delayMs: 400 }, { concurrency: 1 }),
      action("fast", ["*"]),
    ]);
    const events = factory.many(50);
    const started = Date.now();
    source.push(...events);
    await waitFor(() => delivered(`${run}:fast`).size === 50);
    expect(Date.now() - started).toBeLessThan(400);
    await waitFor(() => recorded(`${run}:hangs`).length >= 2, { timeoutMs: 2_000 });
  });

  it("delivers one user's events in stream order with orderBy", async () => {
    const { source } = await start([
      action(
        "ordered",
        ["user.*"],
        { failTimes: 1 },
        { orderBy: "user", concurrency: 8, retry: { maxAttempts: 3, initialDelayMs: 5 } },
      ),
    ]);
    const users = ["auth0|alice", "auth0|bob"];
    const events = Array.from({ length: 20 }, (_, i) =>
      factory.event((i % 3 === 0 ? "user.updated" : "user.created") as string, {
        object: { user_id: users[i % 2]! },
      }),
    );
    source.push(...events);
    await waitFor(() => delivered(`${run}:ordered`).size === 20);
    for (const user of users) {
      const expected = events
        .filter((e) => (e.data.object as { user_id: string }).user_id === user)
        .map((e) => e.id);
      const order = recorded(`${run}:ordered`)
        .filter((a) => a.done && expected.includes(a.id))
        .map((a) => a.id);
      expect(order).toEqual(expected);
    }
  });

  it("resumes after a restart: the cursor and pending deliveries survive", async () => {
    const first = await start([action("slow", ["*"], { delayMs: 50 }, { concurrency: 1 })]);
    const events = factory.many(30);
    first.source.push(...events);
    await waitFor(() => delivered(`${run}:slow`).size >= 3);
    await first.host.stop();
    hosts = [];
    const got = delivered(`${run}:slow`).size;
    expect(got).toBeLessThan(30);
    const second = await start([action("slow", ["*"], {}, { concurrency: 4 })], first.source);
    await waitFor(() => delivered(`${run}:slow`).size === 30);
    expect(first.source.connects()).toBe(2);
    second.source.push(...factory.many(1));
    await waitFor(() => delivered(`${run}:slow`).size === 31);
  });

  it("writes its state back when its folder is deleted just before it stops, says so, and resumes from it", async () => {
    const first = await start([action("slow", ["*"], { delayMs: 50 }, { concurrency: 1 })]);
    const events = factory.many(20);
    first.source.push(...events);
    await waitFor(() => delivered(`${run}:slow`).size >= 2);
    // Deleted, then stopped before the store's next look at its files (once a second): it looks once more
    // as it closes. (Should that look come first, the host stops itself for the same reason.)
    rmSync(join(dir, "state"), { recursive: true, force: true });
    await first.host.stop();
    await first.host.done.catch(() => {});
    hosts = [];
    const said = logs.map(
      (line) => JSON.parse(line) as { msg: string; err?: { message: string }; error?: string },
    );
    expect(
      said.some((l) =>
        `${l.err?.message ?? ""}${l.error ?? ""}`.includes(
          `the state database ${join(dir, "state", "switchyard.db")} was deleted while the host ran; its contents were written back there`,
        ),
      ),
    ).toBe(true);
    // What it wrote back holds the cursor past every event and their deliveries still to run.
    const store = await openStore(first.loaded);
    try {
      expect(await store.getCursor()).toBe("o20");
      expect(await store.countUnfinished()).toBe(20 - delivered(`${run}:slow`).size);
    } finally {
      await store.close();
    }
    await start([action("slow", ["*"], {}, { concurrency: 4 })], first.source);
    await waitFor(() => delivered(`${run}:slow`).size === 20);
  });

  it("gives a claimed delivery a row only once it runs long, so that its watermark moves on", async () => {
    const { host, source, loaded } = await start([
      action("slow", ["user.created"], { delayMs: 2000 }, { concurrency: 1 }),
      action("fast", ["*"]),
    ]);
    const queueDepth = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${host.port}/metrics`)).text();
      return Number(new RegExp(`switchyard_queue_depth\\{action="${name}"\\} (\\d+)`).exec(text)?.[1]);
    };
    const db = new Database(join(loaded.stateDir, "switchyard.db"), { readonly: true });
    try {
      const rows = (name: string) =>
        db
          .prepare<[string], { status: number }>(
            "SELECT d.status FROM deliveries d JOIN actions a ON a.id = d.action WHERE a.name = ?",
          )
          .all(name)
          .map((r) => r.status);
      const watermark = (name: string) =>
        db
          .prepare<[string], { upto: number }>(
            "SELECT w.upto FROM watermarks w JOIN actions a ON a.id = w.action WHERE a.name = ?",
          )
          .get(name)?.upto;
      const [created] = factory.many(1, ["user.created"]);
      source.push(created!);
      await waitFor(() => delivered(`${run}:fast`).has(created!.id));
      const key = db
        .prepare<[string], { id: number }>("SELECT id FROM events WHERE event_id = ?")
        .get(created!.id)!.id;
      // Delivered from memory: no row. The slow attempt is young: no row, and it holds its watermark.
      expect(rows("fast")).toEqual([]);
      expect(rows("slow")).toEqual([]);
      expect(watermark("slow")).toBe(key - 1);
      // Still counted as unfinished, though it has no row.
      expect(await queueDepth("slow")).toBe(1);
      // The next results written (fast's) give the slow attempt, now running long, a row in flight, and
      // its watermark moves past it while it still runs.
      await waitFor(
        () => {
          source.push(...factory.many(1, ["user.deleted"]));
          return rows("slow").length === 1;
        },
        { intervalMs: 20 },
      );
      expect(rows("slow")).toEqual([1]);
      expect(watermark("slow")).toBeGreaterThanOrEqual(key);
      expect(delivered(`${run}:slow`).has(created!.id)).toBe(false);
      // Once delivered, the row goes.
      await waitFor(() => delivered(`${run}:slow`).has(created!.id) && rows("slow").length === 0);
      expect(rows("fast")).toEqual([]);
      await waitFor(async () => (await queueDepth("slow")) === 0);
    } finally {
      db.close();
    }
  });

  it("serves health, readiness and metrics", async () => {
    const { host, source } = await start([
      action("a", ["*"]),
      action("b", ["user.deleted"], { permanentTypes: ["user.deleted"] }),
    ]);
    source.push(...factory.many(25));
    await waitFor(() => delivered(`${run}:a`).size === 25);
    const base = `http://127.0.0.1:${host.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({
      status: "ready",
      checks: { stream: true, store: true, leader: true },
    });
    const metrics = await waitFor(async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return text.includes('switchyard_dlq_size{action="b"} 1') ? text : undefined;
    });
    expect(metrics).toContain('switchyard_deliveries_total{action="a",outcome="delivered"} 25');
    expect(metrics).toContain('switchyard_events_received_total{type="user.created"} 1');
    expect(metrics).toContain('switchyard_queue_depth{action="a"} 0');
    // Attempt durations: cumulative buckets, +Inf equal to the count, in Prometheus' text format.
    expect(metrics).toContain("# TYPE switchyard_delivery_duration_seconds histogram");
    expect(metrics).toContain('switchyard_delivery_duration_seconds_bucket{le="+Inf",action="a"} 25');
    expect(metrics).toContain('switchyard_delivery_duration_seconds_count{action="a"} 25');
    const buckets = [...metrics.matchAll(/duration_seconds_bucket\{le="[^"]+",action="a"\} (\d+)/g)].map(
      (match) => Number(match[1]),
    );
    expect(buckets).toHaveLength(12);
    expect(buckets).toEqual([...buckets].sort((x, y) => x - y));
    // Counted again after a scrape: the totals keep growing, nothing is counted twice.
    const again = await (await fetch(`${base}/metrics`)).text();
    expect(again).toContain('switchyard_deliveries_total{action="a",outcome="delivered"} 25');
  });

  it("tags an action's api.log lines with the action, the event id and the attempt", async () => {
    const { source } = await start([
      action(
        "talker",
        ["*"],
        { logs: true, failTimes: 1 },
        { retry: { initialDelayMs: 10, maxDelayMs: 20 } },
      ),
    ]);
    const [event] = factory.many(1);
    source.push(event!);
    await waitFor(() => delivered(`${run}:talker`).size === 1);
    const lines = logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === "recorded an attempt");
    expect(lines.map(({ action, eventId, attempt, n }) => ({ action, eventId, attempt, n }))).toEqual([
      { action: "talker", eventId: event!.id, attempt: 1, n: 1 },
      { action: "talker", eventId: event!.id, attempt: 2, n: 2 },
    ]);
    const detached = logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === "detached");
    expect(detached.map(({ level, action, attempt }) => ({ level, action, attempt }))).toEqual([
      { level: "warn", action: "talker", attempt: 1 },
      { level: "warn", action: "talker", attempt: 2 },
    ]);
  });

  it("runs Auth0's example action and a TypeScript action unchanged, with api.cache surviving a restart", async () => {
    const receiver = await startFakeServer();
    try {
      const actions: SwitchyardConfigInput["actions"] = [
        {
          name: "auth0-example",
          plugin: AUTH0_EXAMPLE,
          events: ["user.*"],
          secrets: { URL: `${receiver.url}/fwd`, API_KEY: "k-123456" },
        },
        {
          name: "counter",
          plugin: TS_ACTION,
          events: ["user.created"],
          secrets: { URL: `${receiver.url}/count` },
        },
      ];
      const first = await start(actions);
      const created = [factory.byType["user.created"](), factory.byType["user.created"]()];
      first.source.push(created[0]!, factory.byType["user.deleted"](), created[1]!);
      await receiver.waitForRequests(3, (r) => r.path === "/fwd");
      await receiver.waitForRequests(2, (r) => r.path === "/count");
      const forwarded = receiver.requests.filter((r) => r.path === "/fwd");
      expect(forwarded.every((r) => r.headers["x-api-key"] === "k-123456")).toBe(true);
      expect(forwarded.map((r) => (r.json as { type: string }).type).sort()).toEqual([
        "user.created",
        "user.created",
        "user.deleted",
      ]);
      await first.host.stop();
      hosts = [];

      // The counter's cache lives in the store: after a restart it goes on from 2.
      const second = await start(actions, first.source);
      second.source.push(factory.byType["user.created"]());
      const counts = await receiver.waitForRequests(3, (r) => r.path === "/count");
      expect(counts.map((r) => (r.json as { count: number }).count)).toEqual([1, 2, 3]);
    } finally {
      await receiver.close();
    }
  });
});
