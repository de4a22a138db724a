import {
  type Action,
  type Auth0Event,
  createActionCache,
  executeAction,
  type Logger,
  PermanentError,
} from "@switchyard/core";
import { events, type FakeSlack, startFakeSlack, waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import slack, { type SlackOptions } from "./index.js";

let fake: FakeSlack;
const actions: Action[] = [];
beforeEach(async () => {
  fake = await startFakeSlack({ token: "xoxb-secret-token-123" });
});
afterEach(async () => {
  await Promise.all(actions.splice(0).map((action) => action.close?.()));
  await fake.close();
});

function create(options: Partial<SlackOptions> = {}): Action {
  const action = slack({ token: fake.token, channel: "#alerts", apiUrl: fake.url, ...options });
  actions.push(action);
  return action;
}

function recordingLogger() {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, ...(fields ? { fields } : {}) });
    };
  const log: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { log, lines };
}

function deliver(action: Action, event: Auth0Event, timeoutMs = 2_000, log = recordingLogger().log) {
  const api = { cache: createActionCache(), log, attempt: 1, action: { name: "slack" } };
  return executeAction(action, { message: event, secrets: {} }, api, { timeoutMs });
}

describe("slack action against a fake Slack", () => {
  it("posts the default message with text and blocks, authenticated with the bearer token", async () => {
    const action = create();
    const event = events.userCreated({ user_id: "auth0|abc", email: "ada@example.com", name: "Ada" });
    expect(await deliver(action, event)).toMatchObject({ status: "delivered" });
    const [message] = fake.messages();
    expect(message?.channel).toBe("#alerts");
    expect(message?.text).toBe("user.created: auth0|abc (Email: ada@example.com, Name: Ada)");
    expect(message?.blocks?.map((b) => (b as { type: string }).type)).toEqual([
      "header",
      "section",
      "context",
    ]);
    expect(message?.params).toMatchObject({ unfurl_links: "false", unfurl_media: "false" });
    const [request] = fake.server.requests;
    expect(request?.path).toBe("/api/chat.postMessage");
    expect(request?.headers.authorization).toBe(`Bearer ${fake.token}`);
  });

  it("names the organization and the user in organization.member.added", async () => {
    const action = create();
    const event = events.organizationMemberAdded({
      organization: { id: "org_1", name: "initech" },
      user: { user_id: "auth0|m1" },
    });
    await deliver(action, event);
    expect(fake.messages()[0]?.text).toBe("organization.member.added: auth0|m1 (Organization: initech)");
    expect(JSON.stringify(fake.messages()[0]?.blocks)).toContain("org_1");
  });

  it("routes each event to the channel of its most specific pattern, and skips unmatched events", async () => {
    const action = create({
      channel: { "user.*": "#users", "organization.*": "#orgs", "organization.member.added": "#joins" },
    });
    const { log, lines } = recordingLogger();
    await deliver(action, events.userDeleted(), 2_000, log);
    await deliver(action, events.organizationCreated(), 2_000, log);
    await deliver(action, events.organizationMemberAdded(), 2_000, log);
    expect(await deliver(action, events.groupCreated(), 2_000, log)).toMatchObject({ status: "delivered" });
    expect(fake.messages().map((m) => m.channel)).toEqual(["#users", "#orgs", "#joins"]);
    expect(fake.server.requests).toHaveLength(3);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "debug",
        message: expect.stringContaining('no channel for "group.created"'),
      }),
    );
  });

  it("uses templates: functions (with blocks) and strings, most specific pattern first", async () => {
    const action = create({
      templates: {
        "user.*": "New user {{data.object.email}} in {{a0tenant}}",
        "organization.created": (event) => ({
          text: `Org ${event.type}`,
          blocks: [{ type: "section", text: { type: "mrkdwn", text: "custom" } }],
        }),
        "group.*": async () => "just text",
      },
    });
    await deliver(action, events.userCreated({ email: "ada@example.com" }));
    await deliver(action, events.organizationCreated());
    await deliver(action, events.groupDeleted());
    await deliver(action, events.connectionCreated({ id: "con_1" }));
    const [user, org, group, connection] = fake.messages();
    expect(user).toMatchObject({ text: "New user ada@example.com in acme", blocks: undefined });
    expect(org).toMatchObject({ text: "Org organization.created", blocks: [{ type: "section" }] });
    expect(group).toMatchObject({ text: "just text", blocks: undefined });
    expect(connection?.text).toMatch(/^connection\.created: con_1/);
  });

  it("fails permanently when a template returns no text", async () => {
    const action = create({ templates: { "*": () => ({ text: "" }) } });
    const outcome = await deliver(action, events.userCreated());
    expect(outcome).toMatchObject({
      status: "permanent",
      message: expect.stringContaining("returned no text"),
    });
    expect(fake.server.requests).toHaveLength(0);
  });
});

describe("retry decisions", () => {
  const event = events.userCreated();

  it("429 is retryable with the server's Retry-After, without sleeping in the SDK", async () => {
    const action = create();
    fake.rateLimitNext(30);
    const outcome = await deliver(action, event, 5_000);
    expect(outcome).toMatchObject({ status: "retryable", retryAfterMs: 30_000 });
    expect(outcome.durationMs).toBeLessThan(1_000);
    expect(outcome.status !== "delivered" && outcome.message).toMatch(
      /\[switchyard\] \[slack\] rate limited/,
    );
    expect(fake.server.requests).toHaveLength(1);
  });

  it("a 429 without Retry-After is retryable too", async () => {
    const action = create();
    fake.failNext({ status: 429, body: '{"ok":false,"error":"ratelimited"}' });
    const outcome = await deliver(action, event);
    expect(outcome).toMatchObject({ status: "retryable", retryAfterMs: undefined });
  });

  it.each([500, 502, 503, 504, 408, 409, 425])("HTTP %i is retryable, tried once", async (status) => {
    const action = create();
    fake.failNext({ status, body: "upstream trouble" });
    expect(await deliver(action, event)).toMatchObject({
      status: "retryable",
      message: expect.stringContaining(`HTTP ${status}`),
    });
    expect(fake.server.requests).toHaveLength(1);
  });

  it.each(["internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"])(
    "platform error %s is retryable",
    async (code) => {
      const action = create();
      fake.failNextWithError(code);
      expect(await deliver(action, event)).toMatchObject({ status: "retryable" });
    },
  );

  it.each([
    "channel_not_found",
    "not_in_channel",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "invalid_blocks",
    "msg_too_long",
    "some_future_error",
  ])("platform error %s is permanent and named", async (code) => {
    const action = create();
    fake.failNextWithError(code);
    const outcome = await deliver(action, event);
    expect(outcome).toMatchObject({ status: "permanent", message: expect.stringContaining(`"${code}"`) });
  });

  it("a wrong token is permanent (invalid_auth) and never shows in the error", async () => {
    const action = create({ token: "xoxb-wrong-token-456" });
    const outcome = await deliver(action, event);
    expect(outcome).toMatchObject({ status: "permanent", message: expect.stringContaining("invalid_auth") });
    expect(outcome.status !== "delivered" && outcome.message).not.toContain("xoxb-wrong-token-456");
  });

  it("a channel Slack does not know is permanent", async () => {
    await fake.close();
    fake = await startFakeSlack({ token: "xoxb-secret-token-123", channels: ["#known"] });
    const action = create({ channel: "#unknown" });
    expect(await deliver(action, event)).toMatchObject({
      status: "permanent",
      message: expect.stringMatching(/channel_not_found.*#unknown/),
    });
  });

  it.each([400, 410])("HTTP %i is permanent, naming apiUrl", async (status) => {
    const action = create();
    fake.failNext({ status, body: "no" });
    expect(await deliver(action, event)).toMatchObject({
      status: "permanent",
      message: expect.stringContaining(`HTTP ${status} (check apiUrl)`),
    });
  });

  it("other HTTP 4xx (a wrong apiUrl) is permanent", async () => {
    const action = create({ apiUrl: `${fake.server.url}/wrong/` });
    expect(await deliver(action, event)).toMatchObject({ status: "permanent", message: /HTTP 404/ });
  });

  it("a dropped connection is retryable", async () => {
    const action = create();
    fake.failNext({ drop: true });
    expect(await deliver(action, event)).toMatchObject({
      status: "retryable",
      message: /request to Slack failed/,
    });
  });

  it("a slow server and a small budget: retryable within the budget, request aborted", async () => {
    const action = create();
    fake.failNext({ delayMs: 3_000 });
    const started = performance.now();
    const outcome = await deliver(action, event, 200);
    expect(outcome.status).toBe("retryable");
    expect(performance.now() - started).toBeLessThan(1_000);
    await waitFor(() => fake.server.openConnections() === 0, { timeoutMs: 2_000, message: "aborted socket" });
  });

  it("each delivery's budget aborts only its own request", async () => {
    const action = create();
    fake.server.failAlways({ delayMs: 400 });
    const [short, long] = await Promise.all([
      deliver(action, events.userCreated(), 100),
      deliver(action, events.userCreated(), 3_000),
    ]);
    expect(short.status).toBe("retryable");
    expect(long.status).toBe("delivered");
    expect(fake.messages()).toHaveLength(1);
  });

  it("the per-request timeoutMs option also bounds a slow answer", async () => {
    const action = create({ timeoutMs: 100 });
    fake.failNext({ delayMs: 3_000 });
    const outcome = await deliver(action, event, 5_000);
    expect(outcome).toMatchObject({ status: "retryable", message: /request to Slack failed/ });
    expect(outcome.durationMs).toBeLessThan(1_000);
  });

  it("recovers after failures: the next attempt is delivered", async () => {
    const action = create();
    fake.failNext({ status: 503 });
    expect((await deliver(action, event)).status).toBe("retryable");
    expect((await deliver(action, event)).status).toBe("delivered");
    expect(fake.messages()).toHaveLength(1);
  });
});

describe("options and lifecycle", () => {
  it("checks options at creation, with readable errors", () => {
    expect(() => slack({ channel: "#a" } as SlackOptions)).toThrow(
      '[switchyard] [slack] missing option "token"',
    );
    expect(() => slack({ token: "x" } as SlackOptions)).toThrow(/missing option "channel"/);
    expect(() => slack({ token: "x", channel: { "user*": "#a" } })).toThrow(/not a valid event pattern/);
    expect(() => slack({ token: "x", channel: {} })).toThrow(/at least one event pattern/);
    expect(() => slack({ token: "x", channel: "#a", templates: { "user.": "x" } })).toThrow(/templates/);
    expect(() => slack({ token: "x", channel: "#a", apiUrl: "ftp://x" })).toThrow(/apiUrl/);
    expect(() => slack({ token: "x", channel: "#a", chanel: "#b" } as SlackOptions)).toThrow(/chanel/);
    expect(() =>
      slack({ token: "x", channel: "#a", templates: { "*": 42 } } as unknown as SlackOptions),
    ).toThrow(/string template or a function/);
    try {
      slack({ token: "xoxb-leak", channel: { bad: 1 } } as unknown as SlackOptions);
    } catch (error) {
      expect(String(error)).not.toContain("xoxb-leak");
    }
  });

  it("close() releases its keep-alive connections", async () => {
    const action = create();
    await deliver(action, events.userCreated());
    expect(fake.server.openConnections()).toBeGreaterThan(0);
    await action.close?.();
    await waitFor(() => fake.server.openConnections() === 0, { timeoutMs: 2_000, message: "sockets closed" });
  });

  it("exports the factory with its plugin name and schema", () => {
    expect(slack.pluginName).toBe("slack");
    expect(typeof slack.optionsSchema["~standard"].validate).toBe("function");
    expect(new PermanentError("x")).toBeInstanceOf(Error);
  });
});
