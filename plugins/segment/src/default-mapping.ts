import type { Auth0Event } from "@switchyard/core";
import type { SegmentCall } from "./calls.js";

/** Per-type tweaks of the default mapping (the object form of a `mapping` entry). */
export interface MappingOverride {
  /** The track event name (default: the type in Object Action title case, `User Created`). */
  event?: string | undefined;
  /** Also send `identify` (default: for `user.created` and `user.updated`). */
  identify?: boolean | undefined;
  /** Also send `group` with the organization (default: for `organization.*`). */
  group?: boolean | undefined;
  /** Extra properties merged into the track call. */
  properties?: Record<string, unknown> | undefined;
  /** Segment `integrations` for every call of the event (e.g. `{ All: false, Mixpanel: true }`). */
  integrations?: Record<string, unknown> | undefined;
}

type Fields = Record<string, unknown>;

/** `user.created` → `User Created`, `organization.member.role.assigned` → `Organization Member Role Assigned`. */
export function titleCase(type: string): string {
  return type
    .split(/[._-]+/)
    .filter(Boolean)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");
}

/** The calls an event becomes when nothing is configured for it (see the README's mapping table). */
export function defaultCalls(event: Auth0Event, override: MappingOverride = {}): SegmentCall[] {
  const object = asFields(event.data.object);
  const userId = userIdOf(event.type, object);
  const ids = userId ? { userId } : { anonymousId: event.a0tenant };
  const common = {
    ...ids,
    timestamp: event.time,
    context: contextOf(event),
    ...(override.integrations ? { integrations: override.integrations } : {}),
  };
  const calls: SegmentCall[] = [];

  const identify = override.identify ?? (event.type === "user.created" || event.type === "user.updated");
  if (identify && userId) {
    const traits = event.type.startsWith("user.") ? userTraits(object) : {};
    calls.push({ type: "identify", ...common, traits, messageId: `${event.id}:identify` });
  }

  calls.push({
    type: "track",
    ...common,
    event: override.event ?? titleCase(event.type),
    properties: { ...propertiesOf(event, object), ...override.properties },
    messageId: event.id,
  });

  const organization = organizationOf(event.type, object);
  if ((override.group ?? event.type.startsWith("organization.")) && organization) {
    calls.push({ type: "group", ...common, ...organization, messageId: `${event.id}:group` });
  }
  return calls;
}

/** The user an event is about: the user itself, the organization member, or a group's user member. */
function userIdOf(type: string, object: Fields): string | undefined {
  if (type.startsWith("user.")) return text(object.user_id);
  if (type.startsWith("organization.member.")) return text(asFields(object.user).user_id);
  if (type.startsWith("group.member.")) {
    const member = asFields(object.member);
    return member.member_type === "user" ? text(member.id) : undefined;
  }
  return undefined;
}

function organizationOf(type: string, object: Fields): { groupId: string; traits: Fields } | undefined {
  if (type === "organization.created" || type === "organization.updated" || type === "organization.deleted") {
    const id = text(object.id);
    if (!id) return undefined;
    return { groupId: id, traits: compact({ name: object.name, display_name: object.display_name }) };
  }
  const ref = asFields(object.organization);
  const id = text(ref.id);
  return id ? { groupId: id, traits: compact({ name: ref.name }) } : undefined;
}

/** Segment's reserved user traits where Auth0 has them, plus a few Auth0 ones. */
function userTraits(user: Fields): Fields {
  return compact({
    email: user.email,
    name: user.name,
    firstName: user.given_name,
    lastName: user.family_name,
    username: user.username,
    nickname: user.nickname,
    phone: user.phone_number,
    avatar: user.picture,
    createdAt: user.created_at,
    emailVerified: user.email_verified,
    phoneVerified: user.phone_verified,
    blocked: user.blocked,
    lastLogin: user.last_login,
    loginsCount: user.logins_count,
  });
}

/** A short summary of what changed, by family, plus the tenant and event id (never whole metadata blobs). */
function propertiesOf(event: Auth0Event, object: Fields): Fields {
  const [family] = event.type.split(".");
  const organization = asFields(object.organization);
  const role = asFields(object.role);
  const group = asFields(object.group);
  const connection = asFields(object.connection);
  const member = asFields(object.member);
  let summary: Fields;
  if (family === "user") {
    const identity = asFields(Array.isArray(object.identities) ? object.identities[0] : undefined);
    summary = {
      userId: object.user_id,
      email: object.email,
      connection: identity.connection,
      provider: identity.provider,
      deletedAt: object.deleted_at,
    };
  } else if (event.type.startsWith("organization.member.")) {
    summary = {
      organizationId: organization.id,
      organizationName: organization.name,
      userId: asFields(object.user).user_id,
      roleId: role.id,
      roleName: role.name,
    };
  } else if (event.type.startsWith("organization.connection.")) {
    summary = {
      organizationId: organization.id,
      organizationName: organization.name,
      connectionId: connection.id,
      connectionName: connection.name,
    };
  } else if (event.type.startsWith("organization.group.")) {
    summary = {
      organizationId: organization.id,
      organizationName: organization.name,
      groupId: group.id,
      groupName: group.name,
      roleId: role.id,
      roleName: role.name,
    };
  } else if (family === "organization") {
    summary = { organizationId: object.id, organizationName: object.name, displayName: object.display_name };
  } else if (event.type.startsWith("group.member.")) {
    summary = {
      groupId: group.id,
      groupName: group.name,
      memberType: member.member_type,
      memberId: member.id,
    };
  } else if (event.type.startsWith("group.role.")) {
    summary = { groupId: group.id, groupName: group.name, roleId: role.id, roleName: role.name };
  } else if (family === "group") {
    summary = { groupId: object.id, groupName: object.name, groupType: object.type };
  } else if (family === "connection") {
    summary = { connectionId: object.id, connectionName: object.name, strategy: object.strategy };
  } else {
    summary = { objectId: object.id };
  }
  return compact({
    ...summary,
    tenant: event.a0tenant,
    eventId: event.id,
    eventType: event.type,
    test: event.a0purpose === "test" ? true : undefined,
  });
}

/** Segment's context fields from the request that caused the event, and the Auth0 envelope under `auth0`. */
function contextOf(event: Auth0Event): Fields {
  const context = event.data.context;
  const request = context?.request;
  const geo = request?.geo;
  return compact({
    ip: request?.ip,
    userAgent: request?.user_agent,
    timezone: geo?.time_zone,
    location: geo
      ? compact({
          city: geo.city_name,
          country: geo.country_name,
          region: geo.subdivision_name,
          latitude: geo.latitude,
          longitude: geo.longitude,
        })
      : undefined,
    auth0: compact({
      tenant: event.a0tenant,
      eventId: event.id,
      eventType: event.type,
      source: event.source,
      stream: event.a0stream,
      purpose: event.a0purpose,
      client: context?.client ? compact({ id: context.client.id, name: context.client.name }) : undefined,
      connection: context?.connection,
    }),
  });
}

function asFields(value: unknown): Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Fields) : {};
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

// Segment keeps explicit nulls, so absent fields are left out rather than sent as null.
function compact(fields: Fields): Fields {
  const out: Fields = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out;
}
