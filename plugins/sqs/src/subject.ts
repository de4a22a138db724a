import type { Auth0Event } from "@switchyard/core";

/**
 * Whose life an event belongs to: user.* by `data.object.user_id`, organization.* by the organization's id,
 * group.* by the group's id, connection.* by the connection's id, else `data.object.id`, else none.
 * This mirrors core's `subjectOf`, being added on another branch; once it lands, this file goes.
 */
export function subjectOf(event: Auth0Event): string | undefined {
  const object = (event.data?.object ?? {}) as Record<string, unknown>;
  const nested = (key: string) => {
    const value = object[key];
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  };
  const [family] = event.type.split(".");
  const candidates =
    family === "user"
      ? [object.user_id]
      : family === "organization"
        ? [nested("organization").id, object.id]
        : family === "group"
          ? [nested("group").id, object.id]
          : family === "connection"
            ? [nested("connection").id, object.id]
            : [object.id];
  const found = candidates.find((value) => typeof value === "string" && value !== "");
  return found as string | undefined;
}
