// Core's `subjectOf` over an event of every type the factories make (here, beside them: core has no test
// dependency on this package).
import { type Auth0Event, EVENT_TYPES, type KnownEventType, subjectOf } from "@switchyard/core";
import { describe, expect, it } from "vitest";
import { createEventFactory } from "./factories.js";

const factory = createEventFactory({ seed: 22 });

/** The subject the documented table gives, read from the event by hand. */
function expectedSubject(event: Auth0Event): string {
  const object = event.data.object as Record<string, unknown> & {
    organization?: { id: string };
    group?: { id: string };
  };
  const family = event.type.split(".")[0];
  if (family === "user") return object.user_id as string;
  if (family === "organization") return object.organization?.id ?? (object.id as string);
  if (family === "group") return object.group?.id ?? (object.id as string);
  return object.id as string;
}

describe("subjectOf", () => {
  it.each(EVENT_TYPES)("%s: by the table", (type: KnownEventType) => {
    const event: Auth0Event = factory.event(type as string);
    const subject = subjectOf(event);
    expect(subject).toEqual(expectedSubject(event));
    // The factories' ids say what they name: the subject is the family's own object, never a reference.
    const prefix = { user: "auth0|", organization: "org_", group: "grp_", connection: "con_" };
    expect(subject?.startsWith(prefix[type.split(".")[0] as keyof typeof prefix])).toBe(true);
  });

  it("keys a user's events by the user, an organization's sub-events by the organization", () => {
    const user = factory.event("user.created");
    const id = user.data.object.user_id;
    expect(subjectOf(factory.event("user.updated", { object: { user_id: id } }))).toBe(id);
    expect(subjectOf(factory.event("user.deleted", { object: { user_id: id } }))).toBe(id);
    const org = factory.event("organization.created");
    const member = factory.event("organization.member.added", {
      object: { organization: { id: org.data.object.id } },
    });
    expect(subjectOf(member)).toBe(org.data.object.id);
    const group = factory.event("group.created");
    const role = factory.event("group.role.assigned", { object: { group: { id: group.data.object.id } } });
    expect(subjectOf(role)).toBe(group.data.object.id);
  });

  it("keys other and unknown types by data.object.id, else leaves them unordered", () => {
    expect(subjectOf(factory.event("session.revoked", { object: { id: "ses_1" } }))).toBe("ses_1");
    expect(subjectOf(factory.event("thing.changed", { object: { id: 42 } }))).toBe("42");
    const none = factory.event("thing.changed", { object: { name: "x" } });
    delete (none.data.object as Record<string, unknown>).id;
    expect(subjectOf(none)).toBeUndefined();
    const empty = factory.event("user.updated", { object: { user_id: "" } });
    expect(subjectOf(empty)).toBeUndefined();
    const broken = { ...factory.event("user.created"), data: {} } as unknown as Auth0Event;
    expect(subjectOf(broken)).toBeUndefined();
  });
});
