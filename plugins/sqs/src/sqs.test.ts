import { events, type FakeSqs, runAction, startFakeSqs } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import sqs, { type SqsOptions } from "./index.js";

let fake: FakeSqs;
beforeEach(async () => {
  fake = await startFakeSqs();
});
afterEach(() => fake.close());

function action(queue: string, options: Partial<SqsOptions> = {}) {
  return sqs({
    queueUrl: fake.queueUrl(queue),
    region: fake.region,
    endpoint: fake.endpoint,
    credentials: fake.credentials,
    ...options,
  });
}

describe("sqs plugin", () => {
  it("FIFO: the group is the user, the deduplication id the event id, so a redelivery is dropped", async () => {
    const queue = action("identity.fifo");
    const created = events.userCreated();
    const updated = events.userUpdated({ user_id: created.data.object.user_id });
    for (const event of [created, created, updated])
      expect((await runAction(queue, event)).status).toBe("delivered");
    await queue.close?.();
    const held = fake.messages("identity.fifo");
    expect(held.map((m) => JSON.parse(m.body).id)).toEqual([created.id, updated.id]);
    expect(held.map((m) => m.groupId)).toEqual([created.data.object.user_id, created.data.object.user_id]);
    expect(held[0]?.deduplicationId).toBe(created.id);
    expect(fake.unsigned).toEqual([]);
  });

  it("standard queue: the id and type as message attributes, every delivery kept", async () => {
    const queue = action("identity");
    const event = events.organizationCreated();
    await runAction(queue, event);
    await runAction(queue, event);
    await queue.close?.();
    const held = fake.messages("identity");
    expect(held).toHaveLength(2);
    expect(held[0]?.attributes).toEqual({ id: event.id, type: "organization.created" });
    expect(held[0]?.groupId).toBeUndefined();
  });

  it("coalesces concurrent deliveries into batches of at most 10, keeping their order", async () => {
    const queue = action("identity.fifo");
    const sent = events.many(23, ["user.updated"]);
    const results = await Promise.all(sent.map((event) => runAction(queue, event)));
    await queue.close?.();
    expect(results.every((r) => r.status === "delivered")).toBe(true);
    expect(fake.calls()).toEqual([10, 10, 3]);
    expect(fake.messages("identity.fifo").map((m) => JSON.parse(m.body).id)).toEqual(sent.map((e) => e.id));
  });

  it("a failed entry fails only its delivery: retryable if SQS's fault, permanent if the sender's", async () => {
    const queue = action("identity.fifo");
    fake.failEntriesNext({ code: "InternalError", senderFault: false });
    fake.failEntriesNext({ code: "InvalidParameterValue", senderFault: true });
    const results = await Promise.all(events.many(3).map((event) => runAction(queue, event)));
    await queue.close?.();
    expect(results.map((r) => r.status)).toEqual(["retryable", "permanent", "delivered"]);
    expect(results[1]?.message).toMatch(/\[switchyard\] \[sqs\] .*InvalidParameterValue/);
    expect(fake.messages("identity.fifo")).toHaveLength(1);
  });

  it("reads the region from an AWS queue URL", async () => {
    const queue = sqs({
      queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/identity.fifo",
      endpoint: fake.endpoint,
      credentials: fake.credentials,
    });
    expect((await runAction(queue, events.userCreated())).status).toBe("delivered");
    await queue.close?.();
    expect(fake.unsigned).toEqual([]);
  });
});
