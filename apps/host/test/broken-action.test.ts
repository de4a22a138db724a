import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory, waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatActions } from "../src/commands/actions.js";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { summarizeActions } from "../src/operations.js";
import { openStore } from "../src/store/open.js";
import { lineSink } from "./log-lines.js";
import { memorySource } from "./memory-source.js";
import { delivered, RECORDER } from "./recorder.js";

// One broken action never stops the host: it is marked failed, the others run, its events wait for it. And
// an action removed from the config, or renamed, while deliveries of it wait in the store: they stay there
// under its name; the host says so, `actions list` and the admin API show it, and configuring an action of
// that name again delivers them.

let dir: string;
let hosts: Host[] = [];
let logs: Array<Record<string, unknown>> = [];
let run = 0;
const factory = createEventFactory({ seed: 31 });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-broken-"));
  logs = [];
  run++;
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  hosts = [];
  rmSync(dir, { recursive: true, force: true });
});

function config(actions: SwitchyardConfigInput["actions"]) {
  return finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
      state: join(dir, "state"),
      server: { port: 0 },
      actions,
    },
    join(dir, "switchyard.yaml"),
    {},
  );
}

async function start(actions: SwitchyardConfigInput["actions"], source = memorySource()) {
  const loaded = config(actions);
  const sink = lineSink((line) => logs.push(JSON.parse(line)));
  const host = await startHost(loaded, { source, logDestination: sink });
  hosts.push(host);
  return { host, source, loaded, base: `http://127.0.0.1:${host.port}` };
}

const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

describe("an action that cannot start", () => {
  it("is marked failed (actions list, admin API, metric, /readyz degraded) while the others run; its events wait and run once fixed", async () => {
    // Code that throws as it loads, and a factory that throws when it is made (a CRM it cannot reach).
    const throwsOnLoad = file("broken.js", 'throw new Error("SCIM_URL is not set");\n');
    const throwingFactory = file(
      "crm.mjs",
      "export default function crm(options) {\n  if (options.region === 'mars') throw new Error('no CRM region mars');\n  return { onExecuteEventStream() {} };\n}\n",
    );
    const good = { name: "good", plugin: RECORDER, events: ["*"], with: { id: `${run}:good` } };
    const source = memorySource();
    const first = await start(
      [
        good,
        { name: "scim", plugin: throwsOnLoad, events: ["user.*"] },
        { name: "crm", plugin: throwingFactory, events: ["*"], with: { region: "mars" } },
      ],
      source,
    );
    const events = factory.many(20);
    source.push(...events);
    await waitFor(() => delivered(`${run}:good`).size === events.length);

    const failedLines = logs.filter((l) => String(l.msg).startsWith("action failed to start"));
    expect(failedLines.map((l) => l.action).sort()).toEqual(["crm", "scim"]);
    expect(failedLines.find((l) => l.action === "scim")?.reason).toMatch(
      /its code threw while loading: Error: SCIM_URL is not set/,
    );

    const ready = await fetch(`${first.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "degraded", failedActions: ["scim", "crm"] });

    const metrics = await (await fetch(`${first.base}/metrics`)).text();
    expect(metrics).toContain('switchyard_action_state{action="crm",state="failed"} 1');
    expect(metrics).toContain('switchyard_action_state{action="good",state="running"} 1');
    expect(metrics).toContain('switchyard_action_state{action="good",state="failed"} 0');

    const api = (await (await fetch(`${first.base}/api/actions`)).json()) as {
      actions: Array<{ name: string; state: string; failedReason?: string }>;
    };
    expect(api.actions.find((a) => a.name === "crm")).toMatchObject({
      state: "failed",
      failedReason: "its factory threw: Error: no CRM region mars",
    });

    // `switchyard actions list` reads the same from the store.
    const store = await openStore(first.loaded);
    try {
      const list = await summarizeActions(first.loaded, store);
      const users = events.filter((e) => e.type.startsWith("user.")).length;
      expect(list.find((a) => a.name === "scim")).toMatchObject({
        failed: expect.any(String),
        pending: users,
      });
      expect(list.find((a) => a.name === "crm")).toMatchObject({ pending: events.length });
      expect(formatActions(list)).toMatch(
        /crm .* failed \(its factory threw: Error: no CRM region mars since /,
      );
    } finally {
      await store.close();
    }
    await first.host.stop();
    hosts = [];

    // Fixed: the CRM's region, and the SCIM action's code. The waiting events are delivered.
    const fixed = await start(
      [
        good,
        { name: "scim", plugin: RECORDER, events: ["user.*"], with: { id: `${run}:scim` } },
        { name: "crm", plugin: RECORDER, events: ["*"], with: { id: `${run}:crm`, region: "eu" } },
      ],
      source,
    );
    await waitFor(() => delivered(`${run}:crm`).size === events.length);
    await waitFor(
      () => delivered(`${run}:scim`).size === events.filter((e) => e.type.startsWith("user.")).length,
    );
    const readyAgain = await (await fetch(`${fixed.base}/readyz`)).json();
    expect(readyAgain).toMatchObject({ status: "ready" });
    expect(readyAgain).not.toHaveProperty("failedActions");
    const store2 = await openStore(fixed.loaded);
    try {
      const list = await summarizeActions(fixed.loaded, store2);
      expect(list.every((a) => a.failed === undefined)).toBe(true);
    } finally {
      await store2.close();
    }
  });
});

describe("an action no longer in the config", () => {
  it("is listed as removed with the deliveries that wait for it, and gets them once configured again", async () => {
    // A CRM that is down: its deliveries wait in the store, retrying.
    const down = file(
      "down.mjs",
      "export default () => ({ onExecuteEventStream() { throw new Error('503 from the CRM'); } });\n",
    );
    const good = { name: "good", plugin: RECORDER, events: ["*"], with: { id: `${run}:good` } };
    const crm = {
      name: "crm",
      plugin: down,
      events: ["user.*"],
      retry: { maxAttempts: 100, initialDelayMs: 100, maxDelayMs: 200 },
      pauseAfterFailures: 0,
    };
    const source = memorySource();
    const first = await start([good, crm], source);
    const events = factory.many(30);
    const users = events.filter((e) => e.type.startsWith("user.")).length;
    expect(users).toBeGreaterThan(0);
    source.push(...events);
    await waitFor(() => delivered(`${run}:good`).size === events.length);
    await first.host.stop();
    hosts = [];
    expect(logs.some((l) => String(l.msg).includes("not in the config"))).toBe(false);

    // Renamed in the config: `crm` is gone, `crm-eu` is new (and down too).
    logs = [];
    const renamed = await start([good, { ...crm, name: "crm-eu" }], source);
    const warning = logs.find((l) => String(l.msg).startsWith("the store holds deliveries of actions"));
    expect(warning).toMatchObject({
      level: "warn",
      actions: { crm: { pending: users, dead: 0 } },
      msg: "the store holds deliveries of actions that are not in the config (removed or renamed): they wait until an action of that name is configured again (`switchyard actions forget NAME` drops them)",
    });

    const api = (await (await fetch(`${renamed.base}/api/actions`)).json()) as {
      actions: Array<{ name: string; state: string; queueDepth: number }>;
    };
    expect(api.actions.map((a) => [a.name, a.state])).toEqual([
      ["good", "running"],
      ["crm-eu", "running"],
      ["crm", "removed"],
    ]);
    expect(api.actions.find((a) => a.name === "crm")?.queueDepth).toBe(users);

    const store = await openStore(renamed.loaded);
    try {
      const list = await summarizeActions(renamed.loaded, store);
      expect(list.find((a) => a.name === "crm")).toMatchObject({ removed: true, pending: users, dead: 0 });
      expect(formatActions(list)).toMatch(
        new RegExp(
          `^crm +- +- +removed \\(not in the config: its deliveries wait for it\\) +${users} +0$`,
          "m",
        ),
      );
    } finally {
      await store.close();
    }
    await renamed.host.stop();
    hosts = [];

    // Configured again under its name (the CRM is back): what waited is delivered, and nothing is removed.
    logs = [];
    await start(
      [good, { name: "crm", plugin: RECORDER, events: ["user.*"], with: { id: `${run}:crm` } }],
      source,
    );
    await waitFor(() => delivered(`${run}:crm`).size === users);
    expect(logs.some((l) => String(l.msg).includes("not in the config"))).toBe(false);
  });
});
