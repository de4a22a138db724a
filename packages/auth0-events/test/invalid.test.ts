import type { Auth0Event, UnknownAuth0Event } from "@switchyard/core";
import { events, type FakeTenant, startFakeTenant } from "@switchyard/testing";
import { afterEach, beforeEach, expect, test } from "vitest";
import { type StreamItem, stream } from "../src/index.js";

let tenant: FakeTenant;
beforeEach(async () => {
  tenant = await startFakeTenant();
});
afterEach(() => tenant.close());

const factory = events;

/** The first `count` items of the tenant's stream, with what the invalid and malformed hooks heard. */
async function readItems(count: number) {
  const invalid: Array<{ offset: string; event: UnknownAuth0Event; reason: string }> = [];
  const malformed: Array<{ error: Error }> = [];
  const items: StreamItem[] = [];
  const controller = new AbortController();
  for await (const item of stream({
    domain: tenant.url,
    auth: { token: tenant.token },
    fromTimestamp: new Date(0),
    signal: controller.signal,
    hooks: { onInvalid: (info) => invalid.push(info), onMalformed: (info) => malformed.push(info) },
  })) {
    items.push(item);
    if (items.length === count) controller.abort();
  }
  return { items, invalid, malformed };
}

test("an event of a known type with a broken data.object is yielded, marked invalid, never skipped", async () => {
  const before = factory.userCreated();
  const broken = factory.userCreated();
  // Auth0 changed a field: user_id is now a number, identities is gone.
  const object = broken.data.object as unknown as Record<string, unknown>;
  object.user_id = 42;
  delete object.identities;
  const after = factory.userDeleted();
  tenant.append([before, broken as Auth0Event, after]);

  const { items, invalid, malformed } = await readItems(3);

  expect(items.map((i) => i.kind === "event" && i.event.id)).toEqual([before.id, broken.id, after.id]);
  const marked = items[1]!;
  if (marked.kind !== "event") throw new Error("expected an event");
  expect(marked.invalid).toMatch(/^data\.object\.user_id: /);
  expect(marked.event).toEqual(broken);
  expect(marked.offset).toBe(tenant.offsetOf(1));
  expect(items[0]!.kind === "event" && items[0]!.invalid).toBeUndefined();
  expect(invalid).toEqual([{ offset: tenant.offsetOf(1), event: broken, reason: marked.invalid }]);
  expect(malformed).toEqual([]);
});

test("a frame whose envelope is not a CloudEvent stays malformed", async () => {
  const event = factory.userCreated();
  tenant.append(event);
  tenant.injectMalformed("bad-shape");
  tenant.append(factory.userUpdated());
  const { items, invalid, malformed } = await readItems(2);
  expect(items.every((i) => i.kind === "event" && i.invalid === undefined)).toBe(true);
  expect(invalid).toEqual([]);
  expect(malformed).toHaveLength(1);
  expect(malformed[0]!.error.message).toMatch(/event\.source/);
});
