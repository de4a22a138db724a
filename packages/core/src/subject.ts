import type { Auth0Event } from "./events.js";

/**
 * The thing an event is about, whose events must be applied in order by a system that keeps a copy of it:
 *
 * | event type        | subject                                                              |
 * | ----------------- | -------------------------------------------------------------------- |
 * | `user.*`          | `data.object.user_id`                                                |
 * | `organization.*`  | the organization's id (`data.object.organization.id`, else `data.object.id`) |
 * | `group.*`         | the group's id (`data.object.group.id`, else `data.object.id`)       |
 * | `connection.*`    | the connection's id (`data.object.id`)                               |
 * | anything else     | `data.object.id` if present, else none (the event is not ordered)    |
 *
 * Undefined when the event has no subject. The host orders every action's deliveries by it unless the action
 * says `orderBy: none`, and `latestWins` compares events of the same subject.
 */
export function subjectOf(event: Auth0Event): string | undefined {
  const object = event.data?.object as Record<string, unknown> | undefined;
  if (object === null || typeof object !== "object") return undefined;
  // startsWith, not a slice of the family: this runs for every event of every ordered action.
  const type = event.type;
  if (type.startsWith("user.")) return idOf(object.user_id);
  if (type.startsWith("organization.")) return idOf(refOf(object.organization)) ?? idOf(object.id);
  if (type.startsWith("group.")) return idOf(refOf(object.group)) ?? idOf(object.id);
  return idOf(object.id);
}

const refOf = (value: unknown): unknown =>
  value !== null && typeof value === "object" ? (value as { id?: unknown }).id : undefined;

const idOf = (value: unknown): string | undefined =>
  typeof value === "string" && value !== ""
    ? value
    : typeof value === "number" && Number.isFinite(value)
      ? String(value)
      : undefined;
