import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StreamItem } from "@switchyard/auth0-events";
import { type Action, type Auth0Event, createActionCache } from "@switchyard/core";
import { createEventFactory, waitFor } from "@switchyard/testing";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { actionSchema } from "../config/schema.js";
import { createMetrics } from "../metrics.js";
import { inline } from "../store/open.js";
import { openSqliteStore } from "../store/sqlite/index.js";
import type { StateStore } from "../store/types.js";
import { Backlog } from "./backlog.js";
import { Ingest } from "./ingest.js";
import { ActionRunner } from "./runner.js";
import { CompletionWriter } from "./tracking.js";

const factory = createEventFactory({ seed: 5 });
const log = pino({ level: "silent" });
let dir: string;
let store: StateStore;
/** Completion writers of the test, flushed before the store closes; the errors they met. */
let writers: CompletionWriter[] = [];
const writeErrors: unknown[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-ingest-"));
  store = inline(openSqliteStore(join(dir, "switchyard.db")));
});
afterEach(async () => {
  for (const writer of writers.splice(0)) await writer.flush();
  await store.close();
  expect(writeErrors.splice(0)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

/** An ingest step with one runner per action; each action records the ids it ran. */
function setup(actions: Array<{ name: string; events: string[] }>) {
  const metrics = createMetrics();
  const backlog = new Backlog(1_000_000);
  const completions = new CompletionWriter(store, (error) => writeErrors.push(error));
  writers.push(completions);
  const ran = new Map<string, string[]>();
  const runners = actions.map(({ name, events }) => {
    ran.set(name, []);
    const action: Action = {
      onExecuteEventStream: (event) => void ran.get(name)!.push(event.message.id),
    };
    return new ActionRunner({
      config: actionSchema.parse({ name, plugin: "console", events }),
      action,
      cache: createActionCache(),
      store,
      completions,
      metrics,
      log,
      redact: (text) => text,
      userCode: false,
    });
  });
  const ingest = new Ingest({ store, runners, backlog, metrics, log });
  return { ingest, runners, ran, backlog, metrics };
}

const items = (events: Auth0Event[], from = 0): StreamItem[] =>
  events.map((event, i) => ({
    kind: "event",
    offset: `o${from + i + 1}`,
    event,
    json: JSON.stringify(event),
  }));

describe("the ingest step", () => {
  it("writes events and the cursor, and hands each delivery held in memory to the runners that take it", async () => {
    const { ingest, ran, backlog } = setup([
      { name: "users", events: ["user.*"] },
      { name: "all", events: ["*"] },
    ]);
    const events = [factory.event("user.created"), factory.event("organization.created")];
    await ingest.write([...items(events), { kind: "offset", offset: "o3" }]);
    expect(await store.getCursor()).toBe("o3");
    expect(ran.get("users")).toEqual([events[0]!.id]);
    expect(ran.get("all")).toEqual(events.map((e) => e.id));
    // Held, not written as rows: the store has no pending delivery, the backlog counts them.
    expect((await store.stats()).pending).toEqual({});
    expect(backlog.unfinished).toBe(3);
  });

  it("writes rows for a runner with no room (paused), which read them back on resume", async () => {
    const { ingest, runners, ran } = setup([{ name: "later", events: ["*"] }]);
    runners[0]!.pause();
    const events = factory.many(3);
    await ingest.write(items(events));
    expect(ran.get("later")).toEqual([]);
    expect((await store.stats()).pending).toEqual({ later: 3 });
    runners[0]!.start();
    runners[0]!.resume();
    await waitFor(() => ran.get("later")!.length === 3);
    await runners[0]!.stop(1000);
  });

  it("drops a duplicate id, counted, and delivers it once", async () => {
    const { ingest, ran, metrics } = setup([{ name: "all", events: ["*"] }]);
    const [event] = factory.many(1);
    await ingest.write(items([event!]));
    await ingest.write(items([event!], 1));
    expect(ran.get("all")).toEqual([event!.id]);
    expect(
      (await metrics.registry.getSingleMetricAsString("switchyard_events_duplicate_total")).trim(),
    ).toMatch(/ 1$/);
  });

  it("stores pushed events, each call resolved once stored, with its count of duplicates", async () => {
    const { ingest, ran } = setup([{ name: "all", events: ["*"] }]);
    const events = factory.many(5);
    const results = await Promise.all(
      events.map((event) => ingest.push([{ event, json: JSON.stringify(event) }])),
    );
    expect(results).toEqual(events.map(() => ({ duplicates: 0 })));
    expect(ran.get("all")!.sort()).toEqual(events.map((e) => e.id).sort());
    expect(await ingest.push([{ event: events[0]! }])).toEqual({ duplicates: 1 });
    // Pushed events carry no cursor.
    expect(await store.getCursor()).toBeUndefined();
  });

  it("rejects a write the store refuses, and every push waiting on it", async () => {
    const { ingest } = setup([{ name: "all", events: ["*"] }]);
    await store.close();
    writers = [];
    await expect(ingest.write(items(factory.many(1)))).rejects.toThrow(/state store cannot be written/);
    await expect(ingest.push([{ event: factory.many(1)[0]! }])).rejects.toThrow(
      /state store cannot be written/,
    );
    store = inline(openSqliteStore(join(dir, "switchyard.db")));
  });
});
