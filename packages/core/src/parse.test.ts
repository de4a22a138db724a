import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "./event-types.js";
import { EVENT_LIMITS } from "./limits.js";
import { parseCloudEvent, parseStreamMessage } from "./parse.js";

const lines = readFileSync(new URL("../test/fixtures/stream-messages.jsonl", import.meta.url), "utf8")
  .trim()
  .split("\n");
const messages = lines.map((line) => JSON.parse(line) as { offset: string; event: Record<string, unknown> });
const userCreated = () => structuredClone(messages.find((m) => m.event.type === "user.created")!);

describe("parseStreamMessage", () => {
  it("has a realistic fixture for each of the 25 types", () => {
    expect(new Set(messages.map((m) => m.event.type))).toEqual(new Set(EVENT_TYPES));
  });

  it.each(lines.map((line, i) => [messages[i]!.event.type as string, line]))(
    "parses a %s message",
    (type, line) => {
      const result = parseStreamMessage(line, type);
      expect(result.ok).toBe(true);
      if (!result.ok || result.value.kind !== "event") throw new Error("expected an event");
      expect(result.value.event.type).toBe(type);
      expect(result.value.event).toEqual(JSON.parse(line).event);
      expect(result.value.offset).toMatch(/^b2Zm/);
    },
  );

  it("reads offset-only heartbeats as cursor updates", () => {
    expect(parseStreamMessage('{"offset":"abc"}', "offset-only")).toEqual({
      ok: true,
      value: { kind: "offset", offset: "abc" },
    });
  });

  it("reads error frames", () => {
    const result = parseStreamMessage(
      '{"error":{"code":"connection_timeout","message":"rotating","offset":"o-9"}}',
      "error",
    );
    expect(result).toEqual({
      ok: true,
      value: {
        kind: "error",
        offset: "o-9",
        error: { code: "connection_timeout", message: "rotating", offset: "o-9" },
      },
    });
  });

  it("accepts unknown event types when the envelope is valid", () => {
    const message = userCreated();
    message.event.type = "session.revoked";
    message.event.data = { object: { session_id: "s_1" } };
    const result = parseStreamMessage(JSON.stringify(message), "session.revoked");
    expect(result.ok && result.value.kind === "event" && result.value.event.type).toBe("session.revoked");
  });

  it("keeps fields it does not know, at every level", () => {
    const message = userCreated();
    type Loose = Record<string, unknown>;
    const event = message.event;
    const data = event.data as Loose;
    const object = data.object as Loose;
    event.a0new = "top";
    data.later = { x: 1 };
    object.nickname = "ada";
    (object.identities as Loose[])[0]!.isSocial = false;
    const result = parseStreamMessage(JSON.stringify(message), "user.created");
    expect(result.ok && result.value.kind === "event" && result.value.event).toEqual(event);
  });

  it("delivers a known type whose data.object deviates, marked invalid with the path", () => {
    const message = userCreated();
    delete (message.event.data as { object: Record<string, unknown> }).object.user_id;
    const result = parseStreamMessage(JSON.stringify(message), "user.created");
    expect(result.ok).toBe(true);
    if (!result.ok || result.value.kind !== "event") throw new Error("expected an event");
    expect(result.value.invalid).toMatch(/^data\.object\.user_id: /);
    expect(result.value.event).toEqual(message.event);
    expect(result.value.offset).toBe(message.offset);
  });

  it("marks a bad identity inside data.object invalid, with its path", () => {
    const result = parseStreamMessage(JSON.stringify(withObject({ identities: [{ provider: 1 }] })));
    expect(result.ok && result.value.kind === "event" && result.value.invalid).toMatch(
      /^data\.object\.identities\[0\]\.connection: /,
    );
  });

  it("leaves a valid event unmarked", () => {
    const result = parseStreamMessage(lines[0]!);
    expect(result.ok && result.value.kind === "event" && result.value.invalid).toBeUndefined();
  });

  it.each([
    ["not json", "not json{", ""],
    ["an array", "[1,2]", ""],
    ["no offset", '{"event":null}', "offset"],
    [
      "a bad specversion",
      JSON.stringify({ ...userCreated(), event: { ...userCreated().event, specversion: "0.3" } }),
      "event.specversion",
    ],
    [
      "a missing id",
      JSON.stringify({ ...userCreated(), event: { ...userCreated().event, id: undefined } }),
      "event.id",
    ],
    [
      "a data.object that is not an object",
      JSON.stringify({ offset: "x", event: { ...userCreated().event, data: { object: 3 } } }),
      "event.data.object",
    ],
    [
      "an unknown type without data",
      JSON.stringify({ offset: "x", event: { ...userCreated().event, type: "x.y", data: 3 } }),
      "event.data",
    ],
  ])("rejects %s", (_name, input, path) => {
    const result = parseStreamMessage(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.path).toBe(path);
  });

  it("rejects an event whose type disagrees with the frame's event name", () => {
    const result = parseStreamMessage(lines[0]!, "user.deleted");
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.error.message).toMatch(/does not match the frame's event name "user.deleted"/);
  });

  it("never throws, whatever the input", () => {
    for (const input of [
      "",
      "null",
      "0",
      '"x"',
      "{}",
      '{"offset":1}',
      '{"error":"x"}',
      "\u0000",
      undefined,
      42,
    ]) {
      expect(() => parseStreamMessage(input)).not.toThrow();
      expect(parseStreamMessage(input).ok).toBe(false);
    }
  });
});

describe("parseCloudEvent", () => {
  it("parses a bare CloudEvent, as webhook destinations receive it", () => {
    const result = parseCloudEvent(JSON.stringify(userCreated().event));
    expect(result.ok && result.value.id).toBe(userCreated().event.id);
  });

  it("accepts a known type whose data deviates, marked invalid", () => {
    const event = userCreated().event;
    (event.data as { object: Record<string, unknown> }).object.identities = "none";
    const result = parseCloudEvent(event);
    expect(result.ok && result.invalid).toMatch(/^data\.object\.identities: /);
    expect(result.ok && result.value).toBe(event);
  });

  it("names the path without a prefix", () => {
    const event = userCreated().event;
    delete event.a0tenant;
    const result = parseCloudEvent(event);
    expect(!result.ok && result.error.path).toBe("a0tenant");
  });

  it("refuses an event nested deeper than the limit, from its text, without overflowing the stack", () => {
    const event = userCreated().event;
    const depth = 5_000;
    const text = JSON.stringify(event).replace(/}$/, `,"deep":${"[".repeat(depth)}${"]".repeat(depth)}}`);
    const result = parseCloudEvent(text);
    expect(!result.ok && result.error.message).toBe(`nested deeper than ${EVENT_LIMITS.maxDepth} levels`);
    const stream = parseStreamMessage(`{"offset":"b2Zm","event":${text}}`);
    expect(!stream.ok && stream.error.message).toMatch(/^event: nested deeper than/);
  });

  it("takes an event exactly at the nesting limit", () => {
    const event = userCreated().event as unknown as Record<string, unknown>;
    let deep: unknown = "leaf";
    // The event is level 1, `deep`'s array level 2, and so on.
    for (let level = 2; level <= EVENT_LIMITS.maxDepth; level++) deep = [deep];
    event.deep = deep;
    expect(parseCloudEvent(event).ok).toBe(true);
    event.deep = [deep];
    expect(parseCloudEvent(event).ok).toBe(false);
  });

  it.each([
    ["id", "a".repeat(EVENT_LIMITS.maxIdBytes + 1), "must be at most 1024 bytes"],
    ["id", "é".repeat(EVENT_LIMITS.maxIdBytes / 2 + 1), "must be at most 1024 bytes"],
    ["id", "evt_\u0000x", "must not contain control characters"],
    ["id", "evt_\nforged", "must not contain control characters"],
    ["type", `user.${"x".repeat(EVENT_LIMITS.maxTypeBytes)}`, "must be at most 256 bytes"],
    ["type", "user.created\r\nforged", "must not contain control characters"],
  ])("refuses an event whose %s is %j", (field, raw, message) => {
    const event = userCreated().event as unknown as Record<string, unknown>;
    event[field] = raw;
    const result = parseCloudEvent(event);
    expect(!result.ok && result.error.message).toBe(`${field}: ${message}`);
  });

  it("takes the longest id and type the limits allow, and unknown types", () => {
    const event = userCreated().event as unknown as Record<string, unknown>;
    event.id = "a".repeat(EVENT_LIMITS.maxIdBytes);
    event.type = `x.${"y".repeat(EVENT_LIMITS.maxTypeBytes - 2)}`;
    expect(parseCloudEvent(event).ok).toBe(true);
  });
});

function withObject(fields: Record<string, unknown>) {
  const message = userCreated();
  const data = message.event.data as { object: Record<string, unknown> };
  data.object = { ...data.object, ...fields };
  return message;
}
