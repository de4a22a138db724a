/** Every event type in the Auth0 event stream schema (auth0 SDK v7). New types will appear: see `isKnownEventType`. */
export const EVENT_TYPES = [
  "group.created",
  "group.deleted",
  "group.updated",
  "group.member.added",
  "group.member.deleted",
  "group.role.assigned",
  "group.role.deleted",
  "organization.created",
  "organization.updated",
  "organization.deleted",
  "organization.connection.added",
  "organization.connection.updated",
  "organization.connection.removed",
  "organization.member.added",
  "organization.member.deleted",
  "organization.member.role.assigned",
  "organization.member.role.deleted",
  "organization.group.role.assigned",
  "organization.group.role.deleted",
  "user.created",
  "user.updated",
  "user.deleted",
  "connection.created",
  "connection.updated",
  "connection.deleted",
] as const;

/** One of the 25 event types this version knows. */
export type KnownEventType = (typeof EVENT_TYPES)[number];

const known: ReadonlySet<string> = new Set(EVENT_TYPES);

/** True when `type` is one of the event types this version of Switchyard knows. */
export function isKnownEventType(type: string): type is KnownEventType {
  return known.has(type);
}
