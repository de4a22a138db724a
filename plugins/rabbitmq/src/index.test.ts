import { randomBytes } from "node:crypto";
import type { Action } from "@switchyard/core";
import { createEventFactory, runAction, serverAvailable, waitFor } from "@switchyard/testing";
import { connect } from "amqplib";
import { afterEach, beforeAll, describe, expect, it, type TestContext } from "vitest";
import rabbitmq from "./index.js";
import { HOW_TO_RUN, RABBITMQ_SERVER, RABBITMQ_URL, rabbitTarget } from "./test-server.js";

let available = false;
beforeAll(async () => {
  available = await serverAvailable("rabbitmq", RABBITMQ_SERVER, HOW_TO_RUN);
});
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(context: TestContext, target: Parameters<typeof rabbitTarget>[1] = {}) {
  if (!available) context.skip();
  const created = await rabbitTarget(RABBITMQ_SERVER, target);
  cleanups.push(() => created.close());
  const action: Action = rabbitmq(created.options);
  cleanups.push(() => action.close?.());
  return { target: created, action };
}

const factory = createEventFactory({ seed: Date.now() % 2 ** 31 });
const trace = {
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  tracestate: "switchyard=1",
};

describe("rabbitmq plugin", () => {
  it("publishes persistent messages with the contract's properties and the routing key template", async (context) => {
    const { target } = await setup(context);
    const action = rabbitmq({ ...target.options, routingKey: "auth0.{tenant}.{type}.{subject}" });
    cleanups.push(() => action.close?.());
    const event = factory.event("user.updated", { object: { user_id: "auth0|a.b" } });
    expect((await runAction(action, event)).status).toBe("delivered");
    await waitFor(() => target.received.length === 1);
    expect(target.received[0]).toMatchObject({
      id: event.id,
      type: "user.updated",
      body: JSON.stringify(event),
      routingKey: `auth0.${event.a0tenant}.user.updated.auth0|a_b`,
      contentType: "application/cloudevents+json",
      persistent: true,
    });
  });

  it("sends the attempt's W3C trace context as message headers, and none without one", async (context) => {
    const { target, action } = await setup(context);
    const [traced, plain] = [factory.event("user.created"), factory.event("user.deleted")];
    expect((await runAction(action, traced, { trace })).status).toBe("delivered");
    expect((await runAction(action, plain)).status).toBe("delivered");
    await waitFor(() => target.received.length === 2);
    const byId = new Map(target.received.map((m) => [m.id, m.headers ?? {}]));
    expect(byId.get(traced.id)).toMatchObject(trace);
    expect(byId.get(plain.id)).not.toHaveProperty("traceparent");
  });

  it("fails an unroutable message (no queue bound) with that reason, then delivers once a queue is bound", async (context) => {
    const { target, action } = await setup(context, { bindingKey: "user.*" });
    const event = factory.event("organization.created");
    const result = await runAction(action, event);
    expect(result.status).toBe("retryable");
    expect(result.message).toMatch(/unroutable, no queue is bound for routing key "organization\.created"/);
    // The channel stays usable: the next event routes.
    const routed = factory.event("user.created");
    expect((await runAction(action, routed)).status).toBe("delivered");
    await waitFor(() => target.received.length === 1);
    expect(target.received.map((message) => message.id)).toEqual([routed.id]);
  });

  it("fails, naming the exchange, when it does not exist, and recovers once it does", async (context) => {
    if (!available) context.skip();
    const exchange = `sy_test_missing_${randomBytes(4).toString("hex")}`;
    const action = rabbitmq({ url: RABBITMQ_URL.toString(), exchange });
    cleanups.push(() => action.close?.());
    const result = await runAction(action, factory.event("user.created"));
    expect(result.status).toBe("retryable");
    expect(result.message).toContain(`exchange "${exchange}"`);
    expect(result.message).toMatch(/NOT_FOUND/);
    const declaring = rabbitmq({ url: RABBITMQ_URL.toString(), exchange, declareExchange: "fanout" });
    cleanups.push(() => declaring.close?.());
    const model = await connect(RABBITMQ_URL.toString());
    cleanups.push(() => model.close());
    const channel = await model.createChannel();
    cleanups.push(() => channel.deleteExchange(exchange));
    // declareExchange creates it; a queue bound to it makes the message routable.
    expect((await runAction(declaring, factory.event("user.created"))).message).toMatch(/unroutable/);
    const { queue } = await channel.assertQueue("", { exclusive: true });
    await channel.bindQueue(queue, exchange, "");
    const event = factory.event("user.deleted");
    await expectDeliveredSoon(action, event);
    const got = await waitFor(async () => (await channel.get(queue)) || undefined);
    expect(got.properties.messageId).toBe(event.id);
  });
});

/** The action that failed reconnects after its backoff: retry as the host would, a few times. */
async function expectDeliveredSoon(action: Action, event: ReturnType<typeof factory.event>) {
  for (let attempt = 1; attempt <= 50; attempt++) {
    const result = await runAction(action, event, { attempt });
    if (result.status === "delivered") return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("not delivered after 50 attempts");
}
