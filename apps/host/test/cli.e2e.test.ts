import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Auth0Event } from "@switchyard/core";
import {
  createEventFactory,
  type FakeSegment,
  type FakeServer,
  type FakeSlack,
  type FakeTenant,
  type FakeWebhook,
  startFakeSegment,
  startFakeServer,
  startFakeSlack,
  startFakeTenant,
  startFakeWebhook,
  waitFor,
} from "@switchyard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliProcess, runCli, startCli, tenantEnv } from "./cli.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/issue-config", import.meta.url));
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

let dir: string;
let config: string;
let tenant: FakeTenant;
let slack: FakeSlack;
let segment: FakeSegment;
let webhook: FakeWebhook;
let notify: FakeServer;
let env: NodeJS.ProcessEnv;
const poisoned = new Set<string>();
const running: CliProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-e2e-"));
  cpSync(FIXTURE, dir, { recursive: true });
  config = join(dir, "switchyard.yaml");
  // The config serves on the default port, as a user's would: here any free port (0), so that a
  // host running on this machine (`pnpm start`) never fails the test.
  const text = readFileSync(config, "utf8");
  expect(text).toMatch(/^server:\n {2}host: /m);
  writeFileSync(config, text.replace(/^server:\n/m, "server:\n  port: 0\n"));
  tenant = await startFakeTenant({ cutEvery: 250, tokenTtlSeconds: 2, heartbeatMs: 500 });
  slack = await startFakeSlack({ token: "xoxb-e2e-slack-token" });
  segment = await startFakeSegment({ writeKey: "e2e-segment-write-key" });
  webhook = await startFakeWebhook({
    secret: SECRET,
    reply: (request) => {
      const id = request.headers["webhook-id"];
      return typeof id === "string" && poisoned.has(id) ? { status: 400, body: "rejected" } : { status: 204 };
    },
  });
  notify = await startFakeServer();
  env = {
    ...tenantEnv(tenant),
    SLACK_TOKEN: slack.token,
    SLACK_API_URL: slack.url,
    SEGMENT_WRITE_KEY: "e2e-segment-write-key",
    SEGMENT_HOST: segment.url,
    WAREHOUSE_URL: `${webhook.url}/events`,
    WAREHOUSE_SECRET: SECRET,
    MY_API_KEY: "my-api-key-e2e",
    NOTIFY_URL: notify.url,
  };
});

afterAll(async () => {
  for (const cli of running) cli.child.kill("SIGKILL");
  await Promise.all([tenant?.close(), slack?.close(), segment?.close(), webhook?.close(), notify?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** Every secret the config carries: none may appear in logs or printed config. */
const secrets = () => [
  env.AUTH0_CLIENT_SECRET!,
  env.SLACK_TOKEN!,
  env.SEGMENT_WRITE_KEY!,
  SECRET,
  env.MY_API_KEY!,
];

function start(): CliProcess {
  const cli = startCli(["start", "--config", config], env);
  running.push(cli);
  return cli;
}

const ids = (events: Auth0Event[], test: (type: string) => boolean) =>
  new Set(events.filter((e) => test(e.type)).map((e) => e.id));

describe("switchyard start (real process, the issue's config)", () => {
  it("delivers every event to every matching action across SIGKILLs, dead-letters and replays, stops on SIGTERM", async () => {
    const factory = createEventFactory({ seed: 42 });
    const events: Auth0Event[] = [
      ...factory.many(500),
      factory.event("session.revoked", { object: { id: "ses_1" } }),
    ];
    for (const event of events.filter((e) => e.type === "group.created").slice(0, 3)) poisoned.add(event.id);
    tenant.append(events.slice(0, 200));

    const first = start();
    await waitFor(() => webhook.requests.length >= 50, { timeoutMs: 30_000, message: "first deliveries" });
    first.child.kill("SIGKILL");
    await first.exited;
    tenant.append(events.slice(200, 400));

    const second = start();
    await waitFor(() => webhook.requests.length >= 250, {
      timeoutMs: 30_000,
      message: "deliveries after restart",
    });
    second.child.kill("SIGKILL");
    await second.exited;
    tenant.append(events.slice(400));

    const third = start();
    const everything = new Set(events.map((e) => e.id));
    const warehouse = () =>
      new Set(
        webhook.deliveries
          .filter((d) => d.request.headers["webhook-id"] && !poisoned.has(d.id!))
          .map((d) => d.id!),
      );
    await waitFor(() => warehouse().size === everything.size - poisoned.size, {
      timeoutMs: 60_000,
      message: "all warehouse deliveries",
    });

    // Slack: user.created and organization.member.added only.
    const slackWanted = ids(events, (t) => t === "user.created" || t === "organization.member.added");
    const slackGot = () =>
      new Set(
        slack.messages().flatMap((m) => [...slackWanted].filter((id) => JSON.stringify(m).includes(id))),
      );
    await waitFor(() => slackGot().size === slackWanted.size, {
      timeoutMs: 30_000,
      message: "slack messages",
    });
    expect(slack.messages().every((m) => m.channel === "#signups")).toBe(true);
    // Segment: user.* and organization.*; the track call's messageId is the event id.
    const segmentWanted = ids(events, (t) => t.startsWith("user.") || t.startsWith("organization."));
    const tracked = () =>
      new Set(
        segment
          .messages()
          .filter((m) => m.type === "track")
          .map((m) => m.messageId),
      );
    await waitFor(() => [...segmentWanted].every((id) => tracked().has(id)), {
      timeoutMs: 30_000,
      message: "segment tracks",
    });
    // my-action: user.deleted only, with its secret.
    const notifyWanted = ids(events, (t) => t === "user.deleted");
    await waitFor(
      () => new Set(notify.requests.map((r) => (r.json as Auth0Event).id)).size === notifyWanted.size,
      {
        timeoutMs: 30_000,
        message: "notify deliveries",
      },
    );

    // Nothing anywhere else.
    expect([...tracked()].filter((id) => !segmentWanted.has(id))).toEqual([]);
    expect(slack.messages()).toSatisfy((messages: unknown[]) => messages.length >= slackWanted.size);
    // Every Slack message is about a subscribed event: none for the other types.
    const otherIds = [...ids(events, (t) => t !== "user.created" && t !== "organization.member.added")];
    const strays = slack.messages().filter((m) => otherIds.some((id) => JSON.stringify(m).includes(id)));
    expect(strays).toEqual([]);
    expect(new Set(notify.requests.map((r) => (r.json as Auth0Event).id))).toEqual(notifyWanted);
    expect(notify.requests.every((r) => r.headers["x-api-key"] === "my-api-key-e2e")).toBe(true);
    expect(webhook.deliveries.every((d) => d.verified === true)).toBe(true);
    expect(warehouse()).toEqual(new Set([...everything].filter((id) => !poisoned.has(id))));

    // The permanent failures, exactly, are dead letters.
    const listed = await runCli(["dlq", "list", "--json", "--config", config], env);
    expect(listed.code).toBe(0);
    const dead = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    expect(new Set(dead.map((d) => d.eventId))).toEqual(poisoned);
    for (const entry of dead) {
      expect(entry).toMatchObject({ action: "warehouse", eventType: "group.created", attempts: 1 });
      expect(entry.lastError).toMatch(/400/);
    }

    // Replayed while the host runs, they are delivered.
    const replayIds = new Set(poisoned);
    poisoned.clear();
    const replay = await runCli(["dlq", "replay", "--action", "warehouse", "--config", config], env);
    expect(replay.stdout).toContain("3 delivery(ies) queued again");
    await waitFor(() => [...replayIds].every((id) => warehouse().has(id)), {
      timeoutMs: 15_000,
      message: "replayed deliveries",
    });
    expect(JSON.parse((await runCli(["dlq", "list", "--json", "--config", config], env)).stdout)).toEqual([]);

    // The logs never show a secret.
    const logText = [...first.stdout, ...second.stdout, ...third.stdout].join("\n");
    for (const secret of secrets()) {
      expect(logText).not.toContain(secret);
    }

    // A test event injected while the host runs reaches every matching action, marked as a test.
    const sent = await runCli(["send-test", "user.created", "--config", config], env);
    expect(sent.code).toBe(0);
    const testId =
      /queued test event (evt_\w+) \(user\.created\) for: signups-to-slack, segment, warehouse$/m.exec(
        sent.stdout,
      )?.[1];
    expect(testId, sent.stdout).toBeDefined();
    const testDelivery = await waitFor(() => webhook.deliveries.find((d) => d.id === testId));
    expect(testDelivery.event?.a0purpose).toBe("test");
    await waitFor(() => slack.messages().some((m) => JSON.stringify(m).includes(testId!)));

    third.child.kill("SIGTERM");
    expect(await third.exited).toEqual({ code: 0, signal: null });
    expect(third.logs().some((l) => l.msg === "stopped")).toBe(true);
  }, 180_000);
});

describe("switchyard validate and errors", () => {
  it("accepts the issue's config and prints it with secrets redacted", async () => {
    const result = await runCli(["validate", "--print", "--config", config], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("valid (4 actions)");
    expect(result.stdout).toContain("#signups");
    for (const secret of secrets()) {
      expect(result.stdout).not.toContain(secret);
    }
  });

  it("names the file and the field of a broken config, and exits 2", async () => {
    const { SEGMENT_WRITE_KEY: _unset, ...rest } = env;
    const missing = await runCli(["validate", "--config", config], { ...rest, SEGMENT_WRITE_KEY: "" });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /switchyard\.yaml:\d+:\d+: actions\[1\]\.with\.writeKey: environment variable SEGMENT_WRITE_KEY is not set/,
    );
    const bad = join(dir, "bad.yaml");
    writeFileSync(
      bad,
      "source:\n  auth0: { domain: x.us.auth0.com, token: abcdefgh }\nactions:\n  - { name: a, plugin: '@switchyard/plugin-slack', events: ['user.created'], with: { channel: '#x' } }\n",
    );
    const start = await runCli(["start", "--config", bad], {});
    expect(start.code).toBe(2);
    expect(start.stderr).toContain(bad);
    expect(start.stderr).toMatch(/actions\[0\]\.with\.token/);
  });

  it("keeps secrets out of --help", async () => {
    const help = await runCli(["start", "--help"], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--config");
    expect(help.stdout).not.toContain(env.SLACK_TOKEN!);
  });
});
