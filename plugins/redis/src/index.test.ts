import type { Action } from "@switchyard/core";
import { createEventFactory, runAction, serverAvailable } from "@switchyard/testing";
import { afterEach, beforeAll, describe, expect, it, type TestContext } from "vitest";
import redis from "./index.js";
import { adminClient, HOW_TO_RUN, REDIS_SERVER, redisTarget } from "./test-server.js";

let available = false;
beforeAll(async () => {
  available = await serverAvailable("redis", REDIS_SERVER, HOW_TO_RUN);
});
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(context: TestContext, extra: Parameters<typeof redisTarget>[1] = {}) {
  if (!available) context.skip();
  const target = await redisTarget(REDIS_SERVER, extra);
  cleanups.push(() => target.close());
  const action: Action = redis(target.options);
  cleanups.push(() => action.close?.());
  return { target, action };
}

const factory = createEventFactory({ seed: Date.now() % 2 ** 31 });
const trace = {
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  tracestate: "switchyard=1",
};

describe("redis plugin", () => {
  it("adds the attempt's W3C trace context as fields of the entry, and none without one", async (context) => {
    const { target, action } = await setup(context);
    const [traced, plain] = [factory.event("user.created"), factory.event("user.deleted")];
    expect((await runAction(action, traced, { trace })).status).toBe("delivered");
    expect((await runAction(action, plain)).status).toBe("delivered");
    const admin = await adminClient();
    cleanups.push(() => admin.close());
    const entries = await admin.xRange(target.options.stream, "-", "+");
    expect(entries.map((e) => e.message)).toEqual([
      expect.objectContaining({ id: traced.id, ...trace }),
      expect.not.objectContaining({ traceparent: expect.anything() }),
    ]);
  });

  it("adds no second entry for a redelivery within the window", async (context) => {
    const { target, action } = await setup(context);
    const event = factory.event("user.created");
    for (let attempt = 1; attempt <= 3; attempt++) {
      const result = await runAction(action, event, { attempt });
      expect(result.status, result.message).toBe("delivered");
    }
    expect(await target.read()).toHaveLength(1);
  });

  it("appends again once the window has passed", async (context) => {
    const { target, action } = await setup(context, { dedupeWindowMs: 1_000 });
    const event = factory.event("user.updated");
    expect((await runAction(action, event)).status).toBe("delivered");
    const admin = await adminClient();
    cleanups.push(() => admin.close());
    // The window is the dedupe key's expiry: end it now rather than wait for it.
    const keys = await admin.keys(`${target.prefix}*:dedupe:*`);
    expect(keys).toHaveLength(1);
    expect(await admin.pTTL(keys[0]!)).toBeGreaterThan(0);
    await admin.del(keys);
    expect((await runAction(action, event)).status).toBe("delivered");
    expect((await target.read()).map((message) => message.id)).toEqual([event.id, event.id]);
  });

  it("trims the stream to about maxLen entries", async (context) => {
    const { target, action } = await setup(context, { maxLen: 10 });
    for (const event of factory.many(300)) expect((await runAction(action, event)).status).toBe("delivered");
    const length = (await target.read()).length;
    // MAXLEN ~ trims whole nodes of the stream (100 entries by default): about, never below, maxLen.
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThan(300);
  });

  it("fills the stream template per event", async (context) => {
    const { target, action } = await setup(context);
    const admin = await adminClient();
    cleanups.push(() => admin.close());
    const templated = redis({ ...target.options, stream: `${target.prefix}{tenant}:{type}` });
    cleanups.push(() => templated.close?.());
    const event = factory.event("organization.created");
    expect((await runAction(templated, event)).status).toBe("delivered");
    const entries = await admin.xRange(`${target.prefix}${event.a0tenant}:organization.created`, "-", "+");
    expect(entries.map((entry) => entry.message)).toEqual([
      { id: event.id, type: "organization.created", event: JSON.stringify(event) },
    ]);
    expect((await runAction(action, factory.event("user.created"))).status).toBe("delivered");
  });

  it("fails permanently when the key holds something else than a stream", async (context) => {
    const { target, action } = await setup(context);
    const admin = await adminClient();
    cleanups.push(() => admin.close());
    await admin.set(String(target.options.stream), "not a stream");
    const result = await runAction(action, factory.event("user.created"));
    expect(result.status).toBe("permanent");
    expect(result.message).toMatch(/\[switchyard\] \[redis\] XADD to 127\.0\.0\.1:\d+: WRONGTYPE/);
  });
});
