import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { events } from "./factories.js";
import { type FakeWebhook, startFakeWebhook } from "./fake-webhook.js";

const secret = `whsec_${randomBytes(24).toString("base64")}`;
let server: FakeWebhook | undefined;
afterEach(() => server?.close());

async function post(body: string, headers: Record<string, string>) {
  const response = await fetch(`${server!.url}/hook`, { method: "POST", body, headers });
  await response.text();
  return response.status;
}

function signed(body: string, id: string, key = secret) {
  const now = new Date();
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": new Webhook(key).sign(id, now, body),
  };
}

describe("startFakeWebhook", () => {
  it("records deliveries, verifies signatures and parses the event", async () => {
    server = await startFakeWebhook({ secret });
    const event = events.userCreated();
    const body = JSON.stringify(event);
    expect(await post(body, signed(body, event.id))).toBe(200);
    const other = `whsec_${randomBytes(24).toString("base64")}`;
    await post(body, signed(body, event.id, other));
    await post(body, { "content-type": "application/json" });
    const [good, wrongKey, unsigned] = await server.waitForDeliveries(3);
    expect(good).toMatchObject({
      id: event.id,
      verified: true,
      event: { id: event.id, type: "user.created" },
    });
    expect(wrongKey).toMatchObject({ verified: false, verifyError: "No matching signature found" });
    expect(unsigned).toMatchObject({
      id: undefined,
      verified: false,
      verifyError: "Missing required headers",
    });
    expect(server.verify(wrongKey!.request, other).verified).toBe(true);
    expect(server.deliveries[0]).toBe(good);
  });

  it("leaves verified undefined without a secret, and keeps the failure knobs", async () => {
    server = await startFakeWebhook();
    server.failNext({ status: 503 });
    expect(await post("{}", {})).toBe(503);
    expect(await post("not json", {})).toBe(200);
    const deliveries = await server.waitForDeliveries(2);
    expect(deliveries.map((d) => [d.verified, d.event])).toEqual([
      [undefined, undefined],
      [undefined, undefined],
    ]);
  });
});
