import type { Action } from "@switchyard/core";
import { createEventFactory, runAction, serverAvailable, startFaultProxy } from "@switchyard/testing";
import { afterEach, beforeAll, describe, expect, it, type TestContext } from "vitest";
import nats from "./index.js";
import { HOW_TO_RUN, NATS_SERVER, natsTarget } from "./test-server.js";

let available = false;
beforeAll(async () => {
  available = await serverAvailable("nats", NATS_SERVER, HOW_TO_RUN);
});
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(context: TestContext, extra: Parameters<typeof natsTarget>[1] = {}) {
  if (!available) context.skip();
  const target = await natsTarget(NATS_SERVER, extra);
  cleanups.push(() => target.close());
  const action: Action = nats(target.options);
  cleanups.push(() => action.close?.());
  return { target, action };
}

const factory = createEventFactory({ seed: Date.now() % 2 ** 31 });
const trace = {
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  tracestate: "switchyard=1",
};

describe("nats plugin", () => {
  it("sends the contract's headers, and fills the subject template", async (context) => {
    const { target } = await setup(context);
    const action = nats({ ...target.options, subject: `${target.prefix}.{tenant}.{type}.{subject}` });
    cleanups.push(() => action.close?.());
    const event = factory.event("user.created", { object: { user_id: "auth0|a.b" } });
    expect((await runAction(action, event)).status).toBe("delivered");
    const [stored] = await target.stored();
    expect(stored).toMatchObject({
      id: event.id,
      type: "user.created",
      contentType: "application/cloudevents+json",
      body: JSON.stringify(event),
      subject: `${target.prefix}.${event.a0tenant}.user.created.auth0|a_b`,
    });
  });

  it("sends the attempt's W3C trace context as headers, and none without one", async (context) => {
    const { target, action } = await setup(context);
    const [traced, plain] = [factory.event("user.created"), factory.event("user.deleted")];
    expect((await runAction(action, traced, { trace })).status).toBe("delivered");
    expect((await runAction(action, plain)).status).toBe("delivered");
    const stored = await target.stored();
    expect(stored.map((m) => [m.id, m.traceparent, m.tracestate])).toEqual([
      [traced.id, trace.traceparent, trace.tracestate],
      [plain.id, undefined, undefined],
    ]);
  });

  it("lets the stream's duplicate window drop a redelivery of the same event", async (context) => {
    const { target, action } = await setup(context);
    const event = factory.event("user.updated");
    for (let attempt = 1; attempt <= 3; attempt++) {
      const result = await runAction(action, event, { attempt });
      expect(result.status).toBe("delivered");
      if (attempt > 1) expect(result.logs.map((line) => line.message).join()).toMatch(/duplicate/);
    }
    expect((await target.stored()).map((message) => message.id)).toEqual([event.id]);
  });

  it("fails permanently, naming the subject, when no stream captures it", async (context) => {
    const { target } = await setup(context);
    const action = nats({ ...target.options, subject: "sy_test_nowhere.{type}" });
    cleanups.push(() => action.close?.());
    const result = await runAction(action, factory.event("user.deleted"));
    expect(result.status).toBe("permanent");
    expect(result.message).toMatch(/no stream captures subject "sy_test_nowhere\.user\.deleted"/);
  });

  it("takes a password that starts with a digit (nats.js would read it as the port)", async (context) => {
    if (!available) context.skip();
    const proxy = await startFaultProxy(NATS_SERVER);
    cleanups.push(() => proxy.close());
    const { target } = await setup(context);
    const action = nats({ ...target.options, servers: `nats://user:7secret@${proxy.address}` });
    cleanups.push(() => action.close?.());
    expect((await runAction(action, factory.event("group.created"))).status).toBe("delivered");
    expect(proxy.acceptedConnections()).toBe(1);
  });
});
