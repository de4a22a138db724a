import type { Auth0Event } from "@switchyard/core";
import type { ResolvedSqlOptions } from "./options.js";

/** A column of a table the plugin keeps, and how it is declared. */
export interface Column {
  name: string;
  type: "key" | "text" | "json" | "time";
}

/** One kind of thing kept in a table: users, organizations, memberships. */
export interface Entity {
  kind: "users" | "organizations" | "memberships";
  /** The table, possibly `schema.table`. */
  table: string;
  /** Its primary key columns. */
  keys: string[];
  /** Every column, keys first; `profile`, `event_time`, `event_id` and `deleted_at` last. */
  columns: Column[];
}

/** What one event does to its entity's table. */
export interface Change {
  entity: Entity;
  /** The key's values, in `entity.keys` order. */
  key: string[];
  op: "upsert" | "delete";
  /**
   * The order of changes to one key: the event's time (ISO-8601, fixed width) then its id. A change applies only
   * over an older one, so the table ends the same whatever order events arrive in.
   */
  version: string;
  /** Values of `entity.columns` for an upsert (for a delete: only its time and id are written). */
  values: unknown[];
  eventTime: Date;
  eventId: string;
}

const tail: Column[] = [
  { name: "profile", type: "json" },
  { name: "event_time", type: "time" },
  { name: "event_id", type: "key" },
];

/** The entities an action keeps, from its options. */
export function entitiesOf(options: ResolvedSqlOptions): Record<Entity["kind"], Entity> {
  const chosen = Object.keys(options.columns).map((name): Column => ({ name, type: "text" }));
  return {
    users: {
      kind: "users",
      table: options.table,
      keys: ["user_id"],
      columns: [{ name: "user_id", type: "key" }, ...chosen, ...tail],
    },
    organizations: {
      kind: "organizations",
      table: options.organizationsTable,
      keys: ["organization_id"],
      columns: [
        { name: "organization_id", type: "key" },
        { name: "name", type: "text" },
        { name: "display_name", type: "text" },
        ...tail,
      ],
    },
    memberships: {
      kind: "memberships",
      table: options.membershipsTable,
      keys: ["organization_id", "user_id"],
      columns: [{ name: "organization_id", type: "key" }, { name: "user_id", type: "key" }, ...tail],
    },
  };
}

const OPERATIONS: Record<string, [Entity["kind"], Change["op"]]> = {
  "user.created": ["users", "upsert"],
  "user.updated": ["users", "upsert"],
  "user.deleted": ["users", "delete"],
  "organization.created": ["organizations", "upsert"],
  "organization.updated": ["organizations", "upsert"],
  "organization.deleted": ["organizations", "delete"],
  "organization.member.added": ["memberships", "upsert"],
  "organization.member.deleted": ["memberships", "delete"],
};

/** The change `event` makes, or undefined for an event no table keeps (roles, connections, groups…). */
export function changeOf(
  event: Auth0Event,
  entities: Record<Entity["kind"], Entity>,
  columns: Record<string, string>,
): Change | undefined {
  const operation = OPERATIONS[event.type];
  if (!operation) return undefined;
  const [kind, op] = operation;
  const entity = entities[kind];
  const object = (event.data?.object ?? {}) as Record<string, unknown>;
  const key =
    kind === "users"
      ? [object.user_id]
      : kind === "organizations"
        ? [object.id]
        : [field(object.organization, "id"), field(object.user, "user_id")];
  if (!key.every((part) => typeof part === "string" && part !== "")) {
    throw new TypeError(`${event.type} ${event.id} has no ${entity.keys.join(" and ")}`);
  }
  const eventTime = new Date(event.time);
  if (Number.isNaN(eventTime.getTime())) throw new TypeError(`${event.type} ${event.id} has no valid time`);
  const middle =
    kind === "users"
      ? Object.values(columns).map((path) => text(pathValue(event, path)))
      : kind === "organizations"
        ? [text(object.name), text(object.display_name)]
        : [];
  return {
    entity,
    key: key as string[],
    op,
    version: `${eventTime.toISOString()} ${event.id}`,
    values: [...key, ...middle, JSON.stringify(object), eventTime, event.id],
    eventTime,
    eventId: event.id,
  };
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function pathValue(root: unknown, path: string): unknown {
  let value = root;
  for (const part of path.split(".")) value = field(value, part);
  return value;
}

/** A chosen column's value as text: strings as they are, objects as JSON, absent as NULL. */
function text(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? value : JSON.stringify(value);
}
