import { type Auth0Event, subjectOf } from "@switchyard/core";

type Lookup = (event: Auth0Event) => string | null;

/**
 * How an action keys its events for `orderBy`: `subject` (core's `subjectOf`, the default), `user` (the user
 * concerned, memberships included), `organization`, or a dotted path into the event (`data.object.id`);
 * undefined for `none`. Events without a key are not ordered.
 */
export function orderKeyFor(orderBy: string): Lookup | undefined {
  if (orderBy === "none") return undefined;
  if (orderBy === "subject") return subjectKey;
  if (orderBy === "user") return userOf;
  if (orderBy === "organization") return organizationOf;
  const path = orderBy.split(".");
  return (event) => {
    let node: unknown = event;
    for (const key of path) {
      if (node === null || typeof node !== "object") return null;
      node = (node as Record<string, unknown>)[key];
    }
    return typeof node === "string" || typeof node === "number" ? String(node) : null;
  };
}

// The ingest step asks every action for the key of one event before the next: actions ordered by subject
// (every action, by default) share the one answer.
let lastEvent: Auth0Event | undefined;
let lastSubject: string | null = null;

function subjectKey(event: Auth0Event): string | null {
  if (event !== lastEvent) {
    lastSubject = subjectOf(event) ?? null;
    lastEvent = event;
  }
  return lastSubject;
}

function userOf(event: Auth0Event): string | null {
  const object = event.data.object as Record<string, unknown>;
  if (typeof object.user_id === "string") return object.user_id;
  const user = object.user as { user_id?: unknown } | undefined;
  if (typeof user?.user_id === "string") return user.user_id;
  const member = object.member as { member_type?: unknown; id?: unknown } | undefined;
  if (member?.member_type === "user" && typeof member.id === "string") return member.id;
  return null;
}

function organizationOf(event: Auth0Event): string | null {
  const object = event.data.object as Record<string, unknown>;
  const organization = object.organization as { id?: unknown } | undefined;
  if (typeof organization?.id === "string") return organization.id;
  if (event.type.startsWith("organization.") && typeof object.id === "string") return object.id;
  return null;
}
