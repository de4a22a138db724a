import { events, type FakeEventBridge, runAction, startFakeEventBridge } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import eventbridge, { type EventBridgeOptions } from "./index.js";

let fake: FakeEventBridge;
beforeEach(async () => {
  fake = await startFakeEventBridge({ buses: ["default", "identity"] });
});
afterEach(() => fake.close());

function action(options: Partial<EventBridgeOptions> = {}) {
  return eventbridge({
    region: fake.region,
    endpoint: fake.endpoint,
    credentials: fake.credentials,
    ...options,
  });
}

describe("eventbridge plugin", () => {
  it("puts the CloudEvent on the bus: DetailType the type, Source auth0.<tenant>, Time the event's", async () => {
    const bus = action();
    const event = events.userUpdated();
    expect((await runAction(bus, event)).status).toBe("delivered");
    await bus.close?.();
    const [put] = fake.events("default");
    expect(put).toMatchObject({
      source: `auth0.${event.a0tenant}`,
      detailType: "user.updated",
      time: event.time,
    });
    expect(put?.detail).toEqual(event);
    expect(fake.unsigned).toEqual([]);
  });

  it("takes a configured Source", async () => {
    const bus = action({ eventBusName: "identity", source: "com.example.identity" });
    await runAction(bus, events.userCreated());
    await bus.close?.();
    expect(fake.events("identity")[0]?.source).toBe("com.example.identity");
  });

  it("coalesces concurrent deliveries into calls of at most 10 entries", async () => {
    const bus = action();
    const sent = events.many(25, ["user.created", "user.updated"]);
    const results = await Promise.all(sent.map((event) => runAction(bus, event)));
    await bus.close?.();
    expect(results.every((result) => result.status === "delivered")).toBe(true);
    expect(fake.calls()).toEqual([10, 10, 5]);
    expect(
      fake
        .events()
        .map((e) => (e.detail as { id: string }).id)
        .sort(),
    ).toEqual(sent.map((e) => e.id).sort());
  });

  it("fails only the entries EventBridge failed, each with its own ErrorCode", async () => {
    const bus = action();
    const sent = events.many(4, ["user.created"]);
    const [throttled, malformed] = [sent[1]!.id, sent[2]!.id];
    fake.failEntriesWhere((entry) => {
      const id = JSON.parse(String(entry.Detail)).id;
      return id === throttled ? "ThrottlingException" : id === malformed ? "InvalidArgument" : undefined;
    });
    const results = await Promise.all(sent.map((event) => runAction(bus, event)));
    await bus.close?.();
    expect(results.map((r) => r.status)).toEqual(["delivered", "retryable", "permanent", "delivered"]);
    expect(results[1]?.message).toMatch(/\[switchyard\] \[eventbridge\] .*ThrottlingException/);
    expect(results[2]?.message).toMatch(/InvalidArgument/);
    expect(fake.calls()).toEqual([4]);
    expect(fake.events()).toHaveLength(2);
  });

  it("a whole-call throttle is retryable for every delivery in the call", async () => {
    const bus = action();
    fake.throttleNext();
    const results = await Promise.all(events.many(3).map((event) => runAction(bus, event)));
    await bus.close?.();
    expect(results.map((r) => r.status)).toEqual(["retryable", "retryable", "retryable"]);
    expect(results[0]?.message).toMatch(/ThrottlingException/);
  });

  it("a request signed with the wrong secret is refused (permanent), and the secret is never shown", async () => {
    const secretAccessKey = "wrong-secret-0123456789";
    const bus = action({ credentials: { accessKeyId: fake.credentials.accessKeyId, secretAccessKey } });
    const result = await runAction(bus, events.userCreated());
    await bus.close?.();
    expect(result.status).toBe("permanent");
    expect(result.message).toMatch(/InvalidSignatureException/);
    expect(JSON.stringify(result)).not.toContain(secretAccessKey);
    expect(fake.unsigned).toEqual([
      { target: "AWSEvents.PutEvents", reason: "the signature does not match" },
    ]);
  });

  it("a bus that does not exist is permanent", async () => {
    const bus = action({ eventBusName: "nope" });
    const result = await runAction(bus, events.userCreated());
    await bus.close?.();
    expect(result.status).toBe("permanent");
    expect(result.message).toMatch(/ResourceNotFoundException/);
  });

  it("an event over 256 KB is permanent and never sent", async () => {
    const bus = action();
    const huge = events.userCreated({ user_metadata: { blob: "x".repeat(300_000) } });
    const result = await runAction(bus, huge);
    await bus.close?.();
    expect(result.status).toBe("permanent");
    expect(fake.server.requests).toHaveLength(0);
  });
});
