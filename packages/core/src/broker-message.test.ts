import { describe, expect, it } from "vitest";
import { brokerMessage, eventSubject, renderTemplate, unknownPlaceholders } from "./broker-message.js";
import { encodedEvent } from "./encoded.js";
import type { Auth0Event } from "./events.js";

function event(type: string, object: Record<string, unknown>): Auth0Event {
  return {
    specversion: "1.0",
    type,
    source: "urn:auth0:acme.us.auth0.com",
    id: "evt_0000000000000000000001",
    time: "2026-11-01T00:00:00.000Z",
    data: { object },
    a0tenant: "acme",
    a0stream: "est_0000000000000000000001",
  } as unknown as Auth0Event;
}

// The host orders by core's subjectOf, so `{subject}` follows it: a membership event belongs to its
// organization's or group's life, as the host orders it.
describe("eventSubject", () => {
  it.each([
    ["user.created", { user_id: "auth0|1" }, "auth0|1"],
    ["organization.member.added", { organization: { id: "org_1" }, user: { user_id: "auth0|2" } }, "org_1"],
    [
      "group.member.added",
      { group: { id: "grp_1" }, member: { member_type: "user", id: "auth0|3" } },
      "grp_1",
    ],
    [
      "group.member.added",
      { group: { id: "grp_1" }, member: { member_type: "connection", id: "c" } },
      "grp_1",
    ],
    [
      "organization.connection.added",
      { organization: { id: "org_2" }, connection: { id: "con_1" } },
      "org_2",
    ],
    ["organization.updated", { id: "org_3" }, "org_3"],
    ["connection.deleted", { id: "con_2" }, "con_2"],
    ["widget.created", {}, "none"],
  ])("%s → %s", (type, object, subject) => {
    expect(eventSubject(event(type, object))).toBe(subject);
  });
});

describe("renderTemplate", () => {
  const user = event("user.updated", { user_id: "google-oauth2|1.2" });
  it("fills type, tenant and subject, escaping only the values", () => {
    expect(renderTemplate("auth0.{tenant}.{type}.{subject}", user)).toBe(
      "auth0.acme.user.updated.google-oauth2|1_2",
    );
    expect(renderTemplate("fixed", user)).toBe("fixed");
  });
  it("names unknown placeholders", () => {
    expect(unknownPlaceholders("a.{type}.{user}.{}")).toEqual(["user", ""]);
    expect(unknownPlaceholders("{type}{tenant}{subject}")).toEqual([]);
  });
});

describe("brokerMessage", () => {
  it("keeps the host's encoding as the body", () => {
    const json = '{"id":"evt_0000000000000000000001"}';
    const message = brokerMessage(user(), encodedEvent(json));
    expect(message).toMatchObject({ id: "evt_0000000000000000000001", type: "user.created" });
    expect(message.body.json).toBe(json);
    expect(JSON.parse(brokerMessage(user()).body.json)).toEqual(user());
  });
  const user = () => event("user.created", { user_id: "auth0|1" });
});
