import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Auth0Event } from "@switchyard/core";
import {
  createEventFactory,
  type FakeSegment,
  type FakeSlack,
  type FakeWebhook,
  startFakeSegment,
  startFakeSlack,
  startFakeWebhook,
  waitFor,
} from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { lineSink } from "./log-lines.js";
import { memorySource } from "./memory-source.js";

// `redact` and `transform` (engine/shaping.ts) end to end: the real plugins against fakes on 127.0.0.1.

const EMAIL = "ada.lovelace.private@example.com";
const factory = createEventFactory({ seed: 24 });

let dir: string;
let hosts: Host[] = [];
let logs: string[] = [];
let fakes: Array<{ close(): Promise<void> }> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-shaping-"));
  logs = [];
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await Promise.all(fakes.map((f) => f.close()));
  hosts = [];
  fakes = [];
  rmSync(dir, { recursive: true, force: true });
});

/** A user.created event whose user has the test's email (and a phone number, and metadata). */
function signup(): Auth0Event {
  const event = structuredClone(factory.event("user.created")) as Auth0Event & {
    data: { object: Record<string, unknown> };
  };
  Object.assign(event.data.object, {
    email: EMAIL,
    phone_number: "+15550001111",
    user_metadata: { note: EMAIL },
  });
  return event;
}

async function start(actions: SwitchyardConfigInput["actions"]) {
  const loaded = finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
      state: join(dir, "state"),
      server: { port: 0 },
      log: { level: "debug" },
      actions,
    },
    join(dir, "switchyard.yaml"),
    {},
  );
  const sink = lineSink((line) => logs.push(line));
  const source = memorySource();
  const host = await startHost(loaded, { source, logDestination: sink });
  hosts.push(host);
  return { host, source };
}

async function api<T>(host: Host, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${host.port}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

type Attempts = { items: Array<{ outcome: string; error?: string; logs?: Array<{ message: string }> }> };

describe("redact", () => {
  let slack: FakeSlack;
  let segment: FakeSegment;
  let webhook: FakeWebhook;

  beforeEach(async () => {
    slack = await startFakeSlack({ token: "xoxb-shaping-token" });
    segment = await startFakeSegment({ writeKey: "shaping-write-key" });
    webhook = await startFakeWebhook();
    fakes.push(slack, segment, webhook);
  });

  it("keeps redacted fields from Slack, Segment, an HTTP body and a file action's console, and only from those actions", async () => {
    writeFileSync(
      join(dir, "print.mjs"),
      "export const onExecuteEventStream = async (event) => { console.log('got', JSON.stringify(event.message)); };\n",
    );
    const redact = ["data.object.email", "data.object.phone_number", "data.object.user_metadata"];
    const { host, source } = await start([
      {
        name: "slack",
        plugin: "@switchyard/plugin-slack",
        events: ["user.created"],
        with: { token: slack.token, channel: "#signups", apiUrl: slack.url },
        redact,
      },
      {
        name: "segment",
        plugin: "@switchyard/plugin-segment",
        events: ["user.*"],
        with: { writeKey: "shaping-write-key", host: segment.url, flushAt: 1 },
        redact,
      },
      {
        name: "http",
        plugin: "@switchyard/plugin-http",
        events: ["user.*"],
        with: { url: `${webhook.url}/hook` },
        redact: ["data.object.email", "data.object.identities.*.user_id", "data.object.user_metadata"],
      },
      { name: "print", plugin: "./print.mjs", events: ["*"], redact },
      // The same event, unredacted, to another action: the redaction must not reach it.
      {
        name: "control",
        plugin: "@switchyard/plugin-http",
        events: ["user.*"],
        with: { url: `${webhook.url}/control` },
      },
    ]);
    const events = [signup(), signup(), signup()];
    source.push(...events);

    await waitFor(() => slack.messages().length === 3, { message: "slack messages" });
    await segment.waitForMessages(3, (m) => m.type === "track");
    await waitFor(() => webhook.deliveries.length === 6, { message: "webhook deliveries" });
    const printed = () => logs.filter((line) => line.includes('"action":"print"') && line.includes("got"));
    await waitFor(() => printed().length === 3, { message: "the file action's console lines" });

    const hooked = webhook.deliveries.filter((d) => d.request.path === "/hook");
    const control = webhook.deliveries.filter((d) => d.request.path === "/control");
    // The control action got the email: it was in the events, and the other actions' redaction left it there.
    expect(control.every((d) => d.request.body.includes(EMAIL))).toBe(true);
    for (const d of hooked) {
      expect(d.request.body).not.toContain(EMAIL);
      const object = (d.event as { data: { object: Record<string, unknown> } }).data.object;
      expect(object.user_id).toBeDefined();
      expect(object).not.toHaveProperty("user_metadata");
      expect(
        (object.identities as Array<Record<string, unknown>>).every(
          (i) => !("user_id" in i) && "provider" in i,
        ),
      ).toBe(true);
    }
    expect(JSON.stringify(slack.messages())).not.toContain(EMAIL);
    expect(JSON.stringify(slack.server.requests.map((r) => r.body))).not.toContain(EMAIL);
    expect(JSON.stringify(segment.server.requests.map((r) => r.body))).not.toContain("+15550001111");
    expect(JSON.stringify(segment.server.requests.map((r) => r.body))).not.toContain(EMAIL);
    expect(printed().join("\n")).not.toContain(EMAIL);
    // What the console shows of the print action's attempts (their console lines) holds no email either.
    const attempts = await waitFor(async () => {
      const page = await api<Attempts>(host, "/api/deliveries?action=print");
      return page.items.length === 3 ? page : undefined;
    });
    expect(JSON.stringify(attempts)).toContain("got");
    expect(JSON.stringify(attempts)).not.toContain(EMAIL);
    for (const name of ["slack", "segment", "http", "print"]) {
      const lines = logs.filter((line) => line.includes(`"action":"${name}"`));
      expect(lines.join("\n")).not.toContain(EMAIL);
    }
  });

  it("refuses a bad path at load, naming the action and the field", () => {
    expect(() =>
      finishConfig(
        {
          source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
          actions: [{ name: "a", plugin: "console", events: ["*"], redact: ["data..email"] }],
        },
        join(dir, "switchyard.yaml"),
        {},
      ),
    ).toThrow(/actions\[0\]\.redact\[0\].*not a valid redaction path/s);
  });
});

describe("transform", () => {
  let webhook: FakeWebhook;

  beforeEach(async () => {
    webhook = await startFakeWebhook();
    fakes.push(webhook);
  });

  it("sends what the transform returns, skips what it returns null for (recorded as filtered), then redacts", async () => {
    writeFileSync(
      join(dir, "shape.mjs"),
      [
        "export default (event) => {",
        "  if (event.data.object.email.endsWith('@skip.example')) return null;",
        "  return { id: event.id, type: event.type, email: event.data.object.email, domain: event.data.object.email.split('@')[1] };",
        "};",
      ].join("\n"),
    );
    const { host, source } = await start([
      {
        name: "crm",
        plugin: "@switchyard/plugin-http",
        events: ["user.created"],
        with: { url: `${webhook.url}/crm` },
        transform: "./shape.mjs",
        redact: ["email"],
      },
    ]);
    const kept = signup();
    const skipped = signup();
    (skipped.data as { object: { email: string } }).object.email = "bob@skip.example";
    source.push(kept, skipped);

    const [delivery] = await webhook.waitForDeliveries(1);
    expect(delivery!.request.json).toEqual({ id: kept.id, type: "user.created", domain: "example.com" });
    const page = await waitFor(async () => {
      const answer = await api<Attempts>(host, "/api/deliveries?action=crm");
      return answer.items.length === 2 ? answer : undefined;
    });
    const filtered = page.items.find((a) => a.outcome === "filtered");
    expect(filtered?.error).toContain("./shape.mjs");
    expect(page.items.map((a) => a.outcome).sort()).toEqual(["delivered", "filtered"]);
    const filteredOnly = await api<Attempts>(host, "/api/deliveries?action=crm&outcome=filtered");
    expect(filteredOnly.items).toHaveLength(1);
    expect(webhook.deliveries).toHaveLength(1);
  });

  it("dead-letters a delivery whose transform throws (with file:line) or loops past its budget; the others run on", async () => {
    writeFileSync(
      join(dir, "throws.mjs"),
      [
        "export default (event) => {",
        "  const user = event.data.object;",
        "  return user.nope.deeper;",
        "};",
      ].join("\n"),
    );
    writeFileSync(join(dir, "loops.mjs"), "export default () => { for (;;) {} };\n");
    const { host, source } = await start([
      { name: "throws", plugin: "console", events: ["user.created"], transform: "./throws.mjs" },
      {
        name: "loops",
        plugin: "console",
        events: ["user.created"],
        transform: { module: "./loops.mjs", timeoutMs: 200 },
      },
      {
        name: "fine",
        plugin: "@switchyard/plugin-http",
        events: ["user.created"],
        with: { url: webhook.url },
      },
    ]);
    source.push(signup(), signup());
    await webhook.waitForDeliveries(2);
    type Dead = { items: Array<{ action: string; lastError: string; attempts: number }> };
    const dead = await waitFor(async () => {
      const answer = await api<Dead>(host, "/api/dead-letters");
      return answer.items.length === 4 ? answer : undefined;
    });
    const of = (name: string) => dead.items.filter((d) => d.action === name);
    expect(of("throws")).toHaveLength(2);
    for (const d of of("throws")) {
      expect(d.attempts).toBe(1);
      expect(d.lastError).toMatch(
        /transform \.\/throws\.mjs failed \(at throws\.mjs:3\): TypeError: .*deeper/,
      );
    }
    expect(of("loops")).toHaveLength(2);
    for (const d of of("loops")) expect(d.lastError).toMatch(/did not return within 200 ms/);
  });

  it("marks the action failed, and keeps its events, when its transform does not load; validate refuses it", async () => {
    writeFileSync(join(dir, "nothing.mjs"), "export const notAFunction = 1;\n");
    const { resolveActions } = await import("../src/plugins/resolve-actions.js");
    const loaded = finishConfig(
      {
        source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
        actions: [{ name: "a", plugin: "console", events: ["*"], transform: "./nothing.mjs" }],
      },
      join(dir, "switchyard.yaml"),
      {},
    );
    await expect(resolveActions(loaded)).rejects.toThrow(
      /actions\[0\]\.transform: transform \.\/nothing\.mjs could not be loaded: \.\/nothing\.mjs exports no function/,
    );
    const { host, source } = await start([
      { name: "broken", plugin: "console", events: ["*"], transform: "./nothing.mjs" },
      { name: "fine", plugin: "@switchyard/plugin-http", events: ["*"], with: { url: webhook.url } },
    ]);
    source.push(signup());
    await webhook.waitForDeliveries(1);
    type Actions = { actions: Array<{ name: string; state: string; reason?: string }> };
    const { actions } = await api<Actions>(host, "/api/actions");
    expect(actions.find((a) => a.name === "broken")).toMatchObject({ state: "failed" });
    expect(JSON.stringify(actions)).toContain("exports no function");
    // Its event waits in the store for a fixed config: not dead-lettered.
    const dead = await api<{ total: number }>(host, "/api/dead-letters?action=broken");
    expect(dead.total).toBe(0);
  });

  it("refuses a transform file that does not exist, naming the field", async () => {
    const { resolveActions } = await import("../src/plugins/resolve-actions.js");
    const loaded = finishConfig(
      {
        source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
        actions: [{ name: "a", plugin: "console", events: ["*"], transform: "./missing.js" }],
      },
      join(dir, "switchyard.yaml"),
      {},
    );
    await expect(resolveActions(loaded)).rejects.toThrow(/actions\[0\]\.transform: file not found/);
  });
});
