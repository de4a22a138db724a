import {
  type Action,
  type Auth0Event,
  ConfigError,
  createActionCache,
  type EventStreamApi,
  PermanentError,
  RetryableError,
} from "@switchyard/core";
import { createEventFactory, startFakeSegment, waitFor } from "@switchyard/testing";
import { describe, expect, it } from "vitest";
import segment, { type SegmentOptions } from "./index.js";

const WRITE_KEY = "wk_live_9f8e7d6c5b4a";
const { byType } = createEventFactory({ seed: 3, tenant: "acme" });
const noop = () => {};

function apiWith(signal: AbortSignal = new AbortController().signal): EventStreamApi {
  return {
    cache: createActionCache(),
    log: { debug: noop, info: noop, warn: noop, error: noop },
    signal,
    attempt: 1,
    action: { name: "to-segment" },
    message: { fail: noop },
  };
}

type Cleanup = (fn: () => Promise<void>) => void;

/** A fake Segment and an action pointed at it, both closed when the test ends. */
async function setup(onTestFinished: Cleanup, options: Partial<SegmentOptions> = {}) {
  const fake = await startFakeSegment({ writeKey: WRITE_KEY });
  const actions: Action[] = [];
  const create = (more: Partial<SegmentOptions> = {}) => {
    const action = segment({ writeKey: WRITE_KEY, host: fake.url, flushIntervalMs: 10, ...options, ...more });
    actions.push(action);
    return action;
  };
  let action = create();
  onTestFinished(async () => {
    for (const each of actions) await each.close?.();
    await fake.close();
  });
  return {
    fake,
    get action() {
      return action;
    },
    /** Replace the action (the old one is still closed at the end). */
    recreate(more: Partial<SegmentOptions>) {
      action = create(more);
    },
    deliver: (event: Auth0Event, signal?: AbortSignal) =>
      Promise.resolve(action.onExecuteEventStream({ message: event, secrets: {} }, apiWith(signal))),
  };
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable("the delivery should have failed"),
    (error: unknown) => error,
  );

describe.concurrent("segment: what it sends", () => {
  it("sends user.created as identify + track `User Created`, with the event id as messageId", async ({
    onTestFinished,
    expect,
  }) => {
    const { fake, deliver } = await setup(onTestFinished);
    const event = byType["user.created"]({ email: "ada@example.com" });
    await deliver(event);
    const userId = event.data.object.user_id;
    expect(fake.messages()).toMatchObject([
      { type: "identify", userId, messageId: `${event.id}:identify`, traits: { email: "ada@example.com" } },
      { type: "track", event: "User Created", userId, messageId: event.id, timestamp: event.time },
    ]);
    const request = fake.server.requests[0];
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`);
    expect(request?.path).toBe("/v1/batch");
  });

  it("sends organization.created as track + group, and a membership as the member's track + group", async ({
    onTestFinished,
    expect,
  }) => {
    const { fake, deliver } = await setup(onTestFinished);
    const org = byType["organization.created"]({ name: "globex", display_name: "Globex" });
    const member = byType["organization.member.added"]();
    await Promise.all([deliver(org), deliver(member)]);
    const byId = new Map(fake.messages().map((m) => [m.messageId, m]));
    expect(byId.get(org.id)).toMatchObject({
      type: "track",
      event: "Organization Created",
      anonymousId: "acme",
    });
    expect(byId.get(`${org.id}:group`)).toMatchObject({
      type: "group",
      groupId: org.data.object.id,
      traits: { name: "globex", display_name: "Globex" },
    });
    const userId = member.data.object.user.user_id;
    expect(byId.get(member.id)).toMatchObject({ type: "track", event: "Organization Member Added", userId });
    expect(byId.get(`${member.id}:group`)).toMatchObject({
      type: "group",
      userId,
      groupId: member.data.object.organization.id,
    });
  });

  it("uses the tenant as anonymousId for an event without a user", async ({ onTestFinished, expect }) => {
    const { fake, deliver } = await setup(onTestFinished);
    const event = byType["connection.created"]();
    await deliver(event);
    const [track] = fake.messages();
    expect(track).toMatchObject({ type: "track", event: "Connection Created", anonymousId: "acme" });
    expect(track).not.toHaveProperty("userId");
  });

  it("follows mapping overrides: rename, skip with false, function", async ({ onTestFinished, expect }) => {
    const { fake, deliver } = await setup(onTestFinished, {
      mapping: {
        "user.created": { event: "Signed Up", identify: false },
        "connection.*": false,
        "organization.deleted": (event) => [
          { type: "track", event: "Churned", properties: { org: event.id } },
        ],
      },
    });
    const signup = byType["user.created"]();
    const churn = byType["organization.deleted"]();
    await Promise.all([deliver(signup), deliver(byType["connection.deleted"]()), deliver(churn)]);
    expect(fake.messages().map((m) => [m.type, m.event, m.messageId])).toEqual(
      expect.arrayContaining([
        ["track", "Signed Up", signup.id],
        ["track", "Churned", churn.id],
      ]),
    );
    expect(fake.messages()).toHaveLength(2);
  });

  it("batches concurrent deliveries into one request", async ({ onTestFinished, expect }) => {
    const { fake, deliver } = await setup(onTestFinished, { flushIntervalMs: 200, flushAt: 50 });
    const events = Array.from({ length: 10 }, () => byType["connection.updated"]());
    await Promise.all(events.map((event) => deliver(event)));
    expect(fake.server.requests).toHaveLength(1);
    expect(fake.messages().map((m) => m.messageId)).toEqual(events.map((e) => e.id));
  });
});

describe.concurrent("segment: when a delivery counts as done", () => {
  it("resolves only after Segment answered the batch", async ({ onTestFinished, expect }) => {
    const { fake, deliver } = await setup(onTestFinished);
    fake.server.failNext({ delayMs: 400 });
    let settled = false;
    const delivery = deliver(byType["user.updated"]()).finally(() => {
      settled = true;
    });
    await fake.server.waitForRequests(1);
    expect(settled).toBe(false);
    expect(fake.messages()).toEqual([]);
    await delivery;
    expect(fake.messages()).toHaveLength(2);
  });

  it("settles both of two concurrent deliveries of the same event (same messageIds)", async ({
    onTestFinished,
    expect,
  }) => {
    const { fake, deliver } = await setup(onTestFinished);
    const event = byType["user.created"]();
    await Promise.all([deliver(event), deliver(event)]);
    expect(fake.messages().filter((m) => m.messageId === event.id)).toHaveLength(2);
  });

  it("fails retryable on 503, with no retry hidden in the SDK", async ({ onTestFinished, expect }) => {
    const { fake, deliver } = await setup(onTestFinished);
    fake.server.failNext({ status: 503 });
    const error = await failureOf(deliver(byType["user.created"]()));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toMatch(/^\[switchyard\] \[segment\] Segment answered 503/);
    expect(fake.server.requests).toHaveLength(1);
  });

  it("fails retryable on 429 and passes Retry-After on, without sleeping on it", async ({
    onTestFinished,
    expect,
  }) => {
    const { fake, deliver } = await setup(onTestFinished);
    fake.server.failNext({ status: 429, headers: { "retry-after": "7" } });
    const started = Date.now();
    const error = await failureOf(deliver(byType["connection.created"]()));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).retryAfterMs).toBe(7_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(fake.server.requests).toHaveLength(1);
    // The SDK is not left rate-limited: the next delivery goes straight through.
    await deliver(byType["connection.created"]());
  });

  it("fails permanent on 400 and on a wrong write key, without leaking the key", async ({
    onTestFinished,
    expect,
  }) => {
    const t = await setup(onTestFinished);
    const { fake, deliver } = t;
    fake.server.failNext({ status: 400 });
    expect(await failureOf(deliver(byType["user.created"]()))).toBeInstanceOf(PermanentError);
    t.recreate({ writeKey: "wk_wrong_key_123" });
    const error = await failureOf(deliver(byType["user.created"]()));
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/401/);
    expect((error as Error).message).not.toContain("wk_wrong_key_123");
  });

  it("fails permanent for a message over Segment's 32 KB limit, without sending it", async ({
    onTestFinished,
    expect,
  }) => {
    const { fake, deliver } = await setup(onTestFinished, {
      mapping: { "*": () => [{ type: "track", event: "Huge", properties: { blob: "x".repeat(40_000) } }] },
    });
    const error = await failureOf(deliver(byType["user.created"]()));
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/32 KB/);
    expect(fake.server.requests).toHaveLength(0);
  });

  it("fails retryable when the connection drops", async ({ onTestFinished, expect }) => {
    const { fake, deliver } = await setup(onTestFinished);
    fake.server.failNext({ drop: true });
    expect(await failureOf(deliver(byType["user.deleted"]()))).toBeInstanceOf(RetryableError);
  });

  it("fails retryable when the host aborts, and the message still reaches Segment later", async ({
    onTestFinished,
    expect,
  }) => {
    const { fake, deliver } = await setup(onTestFinished);
    fake.server.failNext({ delayMs: 300 });
    const controller = new AbortController();
    const event = byType["connection.deleted"]();
    const delivery = failureOf(deliver(event, controller.signal));
    await fake.server.waitForRequests(1);
    controller.abort(new Error("budget"));
    const error = await delivery;
    expect(error).toBeInstanceOf(RetryableError);
    await fake.waitForMessages(1, (m) => m.messageId === event.id);
  });

  it("flushes pending messages on close and leaves no socket open", async ({ onTestFinished, expect }) => {
    const t = await setup(onTestFinished, { flushIntervalMs: 10_000, flushAt: 100 });
    const { fake, deliver } = t;
    const events = [byType["user.created"](), byType["organization.updated"]()];
    const deliveries = events.map((event) => deliver(event));
    await t.action.close?.();
    await Promise.all(deliveries);
    expect(
      fake
        .messages()
        .map((m) => m.messageId)
        .sort(),
    ).toEqual([events[0]?.id, `${events[0]?.id}:identify`, events[1]?.id, `${events[1]?.id}:group`].sort());
    await waitFor(() => fake.server.openConnections() === 0);
    await expect(deliver(byType["user.created"]())).rejects.toBeInstanceOf(RetryableError);
  });
});

describe("segment: close", () => {
  it("gives up on a hanging Segment after closeTimeoutMs, failing the delivery retryable", async ({
    onTestFinished,
    expect,
  }) => {
    const t = await setup(onTestFinished, { closeTimeoutMs: 100 });
    t.fake.server.failAlways({ delayMs: 5_000 });
    const delivery = failureOf(t.deliver(byType["user.created"]()));
    await t.fake.server.waitForRequests(1);
    const started = Date.now();
    await t.action.close?.();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await delivery).toBeInstanceOf(RetryableError);
    await waitFor(() => t.fake.server.openConnections() === 0);
  });
});

describe("segment: options", () => {
  it("rejects bad options with readable errors that never echo the write key", () => {
    expect(() => segment({} as SegmentOptions)).toThrow(
      /\[switchyard\] \[segment\] missing option "writeKey"/,
    );
    expect(() => segment({ writeKey: "k", host: "ftp://x" })).toThrow(ConfigError);
    expect(() => segment({ writeKey: "k", mapping: { "user.*.x": false } })).toThrow(
      /not a valid event pattern/,
    );
    expect(() => segment({ writeKey: "k", mapping: { "user.created": "Signed Up" as never } })).toThrow(
      /option "mapping.user.created"/,
    );
    expect(() => segment({ writeKey: 12345678 as never })).toThrow(/^(?!.*12345678)/);
  });
});
