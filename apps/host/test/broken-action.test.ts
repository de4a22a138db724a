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

// One broken action never stops the host: it is marked failed, the others run, its events wait for it.

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
