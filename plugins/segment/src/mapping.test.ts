import { PermanentError } from "@switchyard/core";
import { createEventFactory } from "@switchyard/testing";
import { describe, expect, it } from "vitest";
import { defaultCalls, titleCase } from "./default-mapping.js";
import { createMapper } from "./mapping.js";

const factory = createEventFactory({ seed: 7, tenant: "acme" });
const { byType } = factory;

describe("titleCase", () => {
  it("names track events in Object Action title case", () => {
    expect(titleCase("user.created")).toBe("User Created");
    expect(titleCase("organization.member.role.assigned")).toBe("Organization Member Role Assigned");
    expect(titleCase("custom_thing.was-done")).toBe("Custom Thing Was Done");
  });
});

describe("defaultCalls", () => {
  it("maps user.created to identify + track, keyed by the user and the event id", () => {
    const event = byType["user.created"]({ email: "ada@example.com", given_name: "Ada" });
    const [identify, track, ...rest] = defaultCalls(event);
    expect(rest).toEqual([]);
    expect(identify).toMatchObject({
      type: "identify",
      userId: event.data.object.user_id,
      messageId: `${event.id}:identify`,
      timestamp: event.time,
      traits: { email: "ada@example.com", firstName: "Ada", createdAt: event.data.object.created_at },
    });
    expect(track).toMatchObject({
      type: "track",
      event: "User Created",
      userId: event.data.object.user_id,
      messageId: event.id,
      properties: { tenant: "acme", eventId: event.id, eventType: "user.created", email: "ada@example.com" },
      context: { auth0: { tenant: "acme", eventId: event.id }, ip: event.data.context?.request?.ip },
    });
    expect(track).not.toHaveProperty("properties.test");
  });

  it("tracks user.deleted without identify", () => {
    const calls = defaultCalls(byType["user.deleted"]());
    expect(calls.map((c) => `${c.type}:${c.type === "track" ? c.event : ""}`)).toEqual([
      "track:User Deleted",
    ]);
  });

  it("maps organization.created to track (tenant as anonymousId) + group with name/display_name", () => {
    const event = byType["organization.created"]({ name: "globex", display_name: "Globex Inc." });
    const calls = defaultCalls(event);
    expect(calls).toMatchObject([
      { type: "track", event: "Organization Created", anonymousId: "acme", messageId: event.id },
      {
        type: "group",
        groupId: event.data.object.id,
        anonymousId: "acme",
        traits: { name: "globex", display_name: "Globex Inc." },
        messageId: `${event.id}:group`,
      },
    ]);
    expect(calls[0]).not.toHaveProperty("userId");
  });

  it("maps organization.member.added to a track and a group for the member", () => {
    const event = byType["organization.member.added"]();
    const userId = event.data.object.user.user_id;
    expect(defaultCalls(event)).toMatchObject([
      { type: "track", event: "Organization Member Added", userId },
      { type: "group", userId, groupId: event.data.object.organization.id, messageId: `${event.id}:group` },
    ]);
  });

  it("uses the tenant as anonymousId when no user is concerned", () => {
    const types: string[] = ["connection.created", "group.created", "organization.connection.added"];
    for (const type of types) {
      const track = defaultCalls(factory.event(type)).find((c) => c.type === "track");
      expect(track).toMatchObject({ anonymousId: "acme" });
      expect(track).not.toHaveProperty("userId");
    }
  });

  it("takes the user member of group.member events as userId", () => {
    const event = byType["group.member.added"]({ member: { member_type: "user", id: "auth0|42" } });
    expect(defaultCalls(event)[0]).toMatchObject({
      userId: "auth0|42",
      properties: { memberId: "auth0|42" },
    });
  });

  it("flags test events and still maps them", () => {
    const event = byType["user.updated"](undefined, { a0purpose: "test" });
    const calls = defaultCalls(event);
    expect(calls.map((c) => c.type)).toEqual(["identify", "track"]);
    expect(calls[1]).toMatchObject({ properties: { test: true }, context: { auth0: { purpose: "test" } } });
  });

  it("maps unknown event types to a track call", () => {
    const event = factory.event("session.revoked", { object: { id: "ses_1" } });
    expect(defaultCalls(event)).toMatchObject([
      { type: "track", event: "Session Revoked", anonymousId: "acme", properties: { objectId: "ses_1" } },
    ]);
  });
});

describe("createMapper", () => {
  it("applies the most specific entry: exact type, longest prefix, then *", async () => {
    const map = createMapper({
      "*": false,
      "organization.*": { event: "Org Changed", group: false },
      "organization.member.*": { event: "Membership Changed" },
      "user.created": { event: "Signed Up", identify: false, properties: { plan: "free" } },
      "user.*": true,
    });
    expect(await map(byType["connection.created"]())).toEqual([]);
    expect((await map(byType["organization.updated"]())).map((c) => c.type)).toEqual(["track"]);
    const membership = await map(byType["organization.member.deleted"]());
    expect(membership.map((c) => (c.type === "track" ? c.event : c.type))).toEqual([
      "Membership Changed",
      "group",
    ]);
    const signup = await map(byType["user.created"]());
    expect(signup).toMatchObject([{ type: "track", event: "Signed Up", properties: { plan: "free" } }]);
    expect((await map(byType["user.updated"]())).map((c) => c.type)).toEqual(["identify", "track"]);
  });

  it("runs mapping functions and fills in ids, messageIds and timestamps deterministically", async () => {
    const event = byType["user.created"]();
    const map = createMapper({
      "user.created": (e, defaults) => [
        ...defaults.filter((c) => c.type === "identify"),
        { type: "track", event: `Joined ${e.a0tenant}`, properties: { source: "auth0" } },
        { type: "track", event: "Second" },
        { type: "page", name: "Welcome" },
      ],
    });
    const calls = await map(event);
    const userId = event.data.object.user_id;
    expect(calls).toMatchObject([
      { type: "identify", messageId: `${event.id}:identify`, userId },
      { type: "track", event: "Joined acme", messageId: event.id, userId, timestamp: event.time },
      { type: "track", event: "Second", messageId: `${event.id}:track`, userId },
      { type: "page", name: "Welcome", messageId: `${event.id}:page`, userId },
    ]);
    expect(await map(event)).toEqual(calls);
  });

  it("accepts async mapping functions", async () => {
    const map = createMapper({ "*": async () => [{ type: "identify", traits: { plan: "pro" } }] });
    const event = byType["user.updated"]();
    expect(await map(event)).toMatchObject([{ type: "identify", messageId: `${event.id}:identify` }]);
  });

  it("rejects what a mapping function returns when it is not a list of calls", async () => {
    const map = createMapper({ "*": () => [{ kind: "track" }] as never });
    expect(() => map(byType["user.created"]())).toThrow(PermanentError);
    expect(() => createMapper({ "*": () => "nope" as never })(byType["user.created"]())).toThrow(
      /\[switchyard\] \[segment\] the mapping function for "user.created" returned/,
    );
    await expect(createMapper({ "*": async () => null as never })(byType["user.created"]())).rejects.toThrow(
      PermanentError,
    );
  });
});
