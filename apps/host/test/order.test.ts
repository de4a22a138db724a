// Order by subject (every action's default) and latest wins, through the whole host: ingest, runners, store.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Auth0Event } from "@switchyard/core";
import { createEventFactory, waitFor } from "@switchyard/testing";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { openStore } from "../src/store/open.js";
import { memorySource } from "./memory-source.js";
import { delivered, RECORDER, recorded } from "./recorder.js";

let dir: string;
let hosts: Host[] = [];
let run = 0;
const factory = createEventFactory({ seed: 23 });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-order-"));
  run++;
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  hosts = [];
  rmSync(dir, { recursive: true, force: true });
});

const action = (
  name: string,
  options: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) => ({
  name,
  plugin: RECORDER,
  events: ["user.*"],
  with: { id: `${run}:${name}`, ...options },
  retry: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 1000 },
  ...extra,
});

async function start(actions: SwitchyardConfigInput["actions"]) {
  const source = memorySource();
  const loaded = finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
      state: join(dir, "state"),
      server: { port: 0 },
      actions,
    },
    join(dir, "switchyard.yaml"),
    {},
  );
  const host = await startHost(loaded, { source, logDestination: pino.destination("/dev/null") });
  hosts.push(host);
  return { host, source, loaded };
}

/** A user's lifecycle, in stream order and by time. */
const lifecycle = (user: string, second: number): Auth0Event[] =>
  ["user.created", "user.updated", "user.deleted"].map((type, i) =>
    factory.event(type, {
      time: new Date(Date.UTC(2026, 0, 1, 0, 0, second + i)).toISOString(),
      object: { user_id: user },
    }),
  );

const doneOrder = (id: string, events: readonly Auth0Event[]) => {
  const ids = new Set(events.map((e) => e.id));
  return recorded(id)
    .filter((a) => a.done && ids.has(a.id))
    .map((a) => a.id);
};

describe("order by subject, the default", () => {
  it("holds a retrying subject's later events back, and never the other subjects'", async () => {
    const [u1, u2, u3] = [lifecycle("auth0|1", 0), lifecycle("auth0|2", 10), lifecycle("auth0|3", 20)];
    const others = [...u2, ...u3];
    // u1's first event keeps failing until every event of u2 and u3 is delivered: had they waited behind
    // it, nothing would ever finish.
    const hold = { holdUntil: { [u1[0]!.id]: others.map((e) => e.id) } };
    const { source } = await start([action("sync", hold), action("loose", hold, { orderBy: "none" })]);
    source.push(u1[0]!, u2[0]!, u1[1]!, u3[0]!, u2[1]!, u1[2]!, u3[1]!, u2[2]!, u3[2]!);
    const all = [...u1, ...others];
    await waitFor(() => delivered(`${run}:sync`).size === 9 && delivered(`${run}:loose`).size === 9);
    for (const user of [u1, u2, u3]) {
      expect(doneOrder(`${run}:sync`, user)).toEqual(user.map((e) => e.id));
    }
    // Every other subject finished while u1 was still held.
    const sync = doneOrder(`${run}:sync`, all);
    expect(sync.indexOf(u1[0]!.id)).toBeGreaterThanOrEqual(others.length);
    // u1's later events were not even attempted before its first was delivered.
    const attempts = recorded(`${run}:sync`);
    const firstDone = attempts.findIndex((a) => a.id === u1[0]!.id && a.done);
    expect(attempts.findIndex((a) => a.id === u1[1]!.id)).toBeGreaterThan(firstDone);
    // Without order, u1's update and delete go ahead of its creation: what a sync must not do.
    expect(doneOrder(`${run}:loose`, u1)).toEqual([u1[1]!.id, u1[2]!.id, u1[0]!.id]);
  });
});

describe("latest wins", () => {
  it("skips an event older than one delivered for its subject, recording it stale; others get it", async () => {
    const [created, updated] = lifecycle("auth0|7", 0);
    const { host, loaded, source } = await start([
      action("sync", {}, { latestWins: true }),
      action("notify"),
    ]);
    // The update arrives first (Auth0 does not promise order); the older creation after it.
    source.push(updated!);
    await waitFor(() => delivered(`${run}:sync`).has(updated!.id));
    source.push(created!);
    await waitFor(() => delivered(`${run}:notify`).size === 2);
    const metrics = async () => await (await fetch(`http://127.0.0.1:${host.port}/metrics`)).text();
    await waitFor(async () =>
      (await metrics()).includes('switchyard_deliveries_total{action="sync",outcome="stale"} 1'),
    );
    expect(recorded(`${run}:sync`).map((a) => a.id)).toEqual([updated!.id]);
    // A later event of the subject is delivered as usual.
    const later = factory.event("user.updated", {
      time: new Date(Date.UTC(2026, 0, 1, 0, 0, 5)).toISOString(),
      object: { user_id: "auth0|7" },
    });
    source.push(later);
    await waitFor(() => delivered(`${run}:sync`).has(later.id));
    await host.stop();
    hosts = [];
    const store = await openStore(loaded);
    try {
      const [stale] = await store.searchAttempts({ action: "sync", outcome: "stale", limit: 5 });
      expect(stale).toMatchObject({ eventId: created!.id, outcome: "stale" });
      expect(stale!.error).toContain("auth0|7");
      expect(await store.searchAttempts({ action: "notify", outcome: "stale", limit: 5 })).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("refuses latestWins on an action that is not ordered by subject", () => {
    expect(() =>
      finishConfig(
        {
          source: { auth0: { domain: "unused.example", token: "t" } },
          actions: [{ ...action("x"), latestWins: true, orderBy: "none" }],
        },
        join(dir, "switchyard.yaml"),
        {},
      ),
    ).toThrow(/latestWins: needs the action's events ordered by subject/);
  });
});
