import { type Auth0Event, createPatternTable } from "@switchyard/core";
import { display, escapeMrkdwn, truncate, valueAt } from "./format.js";

/** One Block Kit block, as Slack's API takes it (`{ type: "section", … }`). */
export type SlackBlock = { type: string } & Record<string, unknown>;

/** A message to post: `text` is the notification and screen-reader fallback, `blocks` the rich layout. */
export interface SlackMessage {
  text: string;
  blocks?: SlackBlock[];
}

interface Field {
  label: string;
  /** Path under `data.object`. */
  path: string;
  /** Shown as `code` (ids). */
  code?: boolean;
  /** Also named in the `text` fallback. */
  inText?: boolean;
}

interface Family {
  /** Path under `data.object` of the id the `text` fallback names. */
  id: string;
  fields: Field[];
}

const org = (label = "Organization"): Field[] => [
  { label, path: "organization.name", inText: true },
  { label: `${label} ID`, path: "organization.id", code: true },
];
const role: Field = { label: "Role", path: "role.name", inText: true };

// One row per event family; the most specific pattern wins, as for channels.
const FAMILIES = createPatternTable<Family>({
  "user.*": {
    id: "user_id",
    fields: [
      { label: "Email", path: "email", inText: true },
      { label: "Name", path: "name", inText: true },
      { label: "User ID", path: "user_id", code: true },
      { label: "Connection", path: "identities.0.connection" },
    ],
  },
  "organization.*": {
    id: "id",
    fields: [
      { label: "Display name", path: "display_name", inText: true },
      { label: "Name", path: "name", inText: true },
      { label: "Organization ID", path: "id", code: true },
    ],
  },
  "organization.member.*": {
    id: "user.user_id",
    fields: [...org(), { label: "User ID", path: "user.user_id", code: true }, role],
  },
  "organization.connection.*": {
    id: "connection.id",
    fields: [
      ...org(),
      { label: "Connection", path: "connection.name", inText: true },
      { label: "Connection ID", path: "connection.id", code: true },
      { label: "Strategy", path: "connection.strategy" },
    ],
  },
  "organization.group.role.*": {
    id: "group.id",
    fields: [
      ...org(),
      { label: "Group", path: "group.name", inText: true },
      { label: "Group ID", path: "group.id", code: true },
      role,
    ],
  },
  "group.*": {
    id: "id",
    fields: [
      { label: "Name", path: "name", inText: true },
      { label: "Group ID", path: "id", code: true },
      { label: "Type", path: "type", inText: true },
      { label: "External ID", path: "external_id", code: true },
    ],
  },
  "group.member.*": {
    id: "member.id",
    fields: [
      { label: "Group", path: "group.name", inText: true },
      { label: "Group ID", path: "group.id", code: true },
      { label: "Member", path: "member.id", code: true },
      { label: "Member type", path: "member.member_type", inText: true },
    ],
  },
  "group.role.*": {
    id: "group.id",
    fields: [
      { label: "Group", path: "group.name", inText: true },
      { label: "Group ID", path: "group.id", code: true },
      role,
      { label: "Role ID", path: "role.id", code: true },
    ],
  },
  "connection.*": {
    id: "id",
    fields: [
      { label: "Name", path: "name", inText: true },
      { label: "Connection ID", path: "id", code: true },
      { label: "Strategy", path: "strategy", inText: true },
    ],
  },
  "*": {
    id: "id",
    fields: [
      { label: "ID", path: "id", code: true },
      { label: "Name", path: "name", inText: true },
    ],
  },
});

const MAX_FIELD = 300;
const MAX_HEADER = 150;
const MAX_TEXT = 1000;
// Bookkeeping fields that change on every update and say nothing about what changed.
const NOT_CHANGES = new Set(["updated_at", "last_login", "logins_count", "last_ip"]);

/** The default message for any event: a header, the family's fields, and a context line. */
export function defaultMessage(event: Auth0Event): SlackMessage {
  const family = FAMILIES(event.type)!; // "*" always matches
  const object: unknown = event.data?.object;
  const isTest = event.a0purpose === "test";
  const title = `${isTest ? "[test] " : ""}${humanize(event.type)}`;

  const shown: Array<{ field: Field; value: string }> = [];
  for (const field of family.fields) {
    const value = display(valueAt(object, field.path), MAX_FIELD);
    if (value !== undefined) shown.push({ field, value });
  }
  const changed = changedKeys(object, event.data?.previous_object);
  if (changed) shown.push({ field: { label: "Changed", path: "" }, value: changed });

  const id = display(valueAt(object, family.id), MAX_FIELD) ?? "(no id)";
  const summary = shown
    .filter(({ field }) => field.inText)
    .map(({ field, value }) => `${field.label}: ${escapeMrkdwn(value)}`);
  const text = truncate(
    `${isTest ? "[test] " : ""}${escapeMrkdwn(event.type)}: ${escapeMrkdwn(id)}${summary.length ? ` (${summary.join(", ")})` : ""}`,
    MAX_TEXT,
  );

  const blocks: SlackBlock[] = [
    { type: "header", text: { type: "plain_text", text: truncate(title, MAX_HEADER), emoji: true } },
  ];
  if (shown.length > 0) {
    blocks.push({
      type: "section",
      // Slack allows at most 10 fields per section.
      fields: shown.slice(0, 10).map(({ field, value }) => ({
        type: "mrkdwn",
        text: `*${field.label}*\n${field.code && !value.includes("`") ? `\`${escapeMrkdwn(value)}\`` : escapeMrkdwn(value)}`,
      })),
    });
  }
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: contextLine(event, isTest) }] });
  return { text, blocks };
}

/** `organization.member.role.assigned` → `Organization member role assigned`. */
function humanize(type: string): string {
  const words = type.replace(/[._-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function contextLine(event: Auth0Event, isTest: boolean): string {
  const parts: string[] = [];
  const tenant = display(event.a0tenant ?? event.data?.context?.tenant?.tenant_id, 100);
  if (tenant) parts.push(`Tenant *${escapeMrkdwn(tenant)}*`);
  const time = display(event.time, 100);
  if (time) {
    const ms = Date.parse(time);
    // Slack's date token shows the time in each reader's own time zone, with the raw value as fallback.
    parts.push(
      Number.isNaN(ms)
        ? escapeMrkdwn(time)
        : `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${escapeMrkdwn(time)}>`,
    );
  }
  const id = display(event.id, 100);
  if (id) parts.push(`\`${escapeMrkdwn(id)}\``);
  if (isTest) parts.push("test event");
  return parts.join(" · ");
}

function changedKeys(object: unknown, previous: unknown): string | undefined {
  if (!isRecord(object) || !isRecord(previous)) return undefined;
  const keys = new Set([...Object.keys(object), ...Object.keys(previous)]);
  const changed = [...keys].filter(
    (key) => !NOT_CHANGES.has(key) && JSON.stringify(object[key]) !== JSON.stringify(previous[key]),
  );
  return changed.length > 0 ? display(changed.join(", "), MAX_FIELD) : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
