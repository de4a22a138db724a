import { z } from "zod";
import type { KnownEventType } from "./event-types.js";
import { EVENT_LIMITS, hasControlCharacter, utf8Length } from "./limits.js";

// Validation is deliberately shallow where Auth0 is loose: required fields are checked and unknown ones are
// allowed, so a field Auth0 adds tomorrow never makes us drop an event today. These schemas only check: the
// event the host keeps is the parsed input, whole, never zod's output. So they use `z.object`, which skips
// unknown fields, rather than `z.looseObject`, which accepts exactly the same inputs but copies every field
// of every object into its output (about a tenth of what the host allocated per event).
const object = z.object;

const str = z.string();
// `data.object` is checked per type below; here only "is it an object". A custom check costs a fraction of
// z.record's walk over every key, on the hot path of every event.
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const plainObject = z.custom<Record<string, unknown>>(isObject, { error: "expected an object" });
const optStr = z.string().optional();

const identity = object({ connection: str, provider: str, user_id: z.union([str, z.number()]) });

const user = object({
  user_id: str,
  created_at: str,
  updated_at: str,
  identities: z.array(identity),
  email: optStr,
  email_verified: z.boolean().optional(),
});
const deletedUser = user.extend({ deleted_at: str });

const organization = object({ id: str, name: str, display_name: optStr });
const organizationRef = object({ id: str, name: optStr });
const roleRef = object({ id: str, name: optStr });
const groupRef = object({ id: str, name: optStr });

const organizationMember = object({
  organization: organizationRef,
  user: object({ user_id: str }),
});
const organizationMemberRole = organizationMember.extend({ role: roleRef });
const organizationConnection = object({
  organization: organizationRef,
  connection: object({ id: str }),
});
const organizationGroupRole = object({
  organization: organizationRef,
  group: groupRef,
  role: roleRef,
});

const group = object({
  id: str,
  name: str,
  created_at: optStr,
  type: z.enum(["connection", "organization", "tenant"]),
});
const groupMember = object({
  group: groupRef,
  member: object({ member_type: z.enum(["user", "connection"]), id: str }),
});
const groupRole = object({ group: groupRef, role: roleRef });
const connection = object({ id: str, name: str, strategy: optStr });

export const objectSchemas: Record<KnownEventType, z.ZodType> = {
  "group.created": group,
  "group.deleted": group,
  "group.updated": group,
  "group.member.added": groupMember,
  "group.member.deleted": groupMember,
  "group.role.assigned": groupRole,
  "group.role.deleted": groupRole,
  "organization.created": organization,
  "organization.updated": organization,
  "organization.deleted": organization,
  "organization.connection.added": organizationConnection,
  "organization.connection.updated": organizationConnection,
  "organization.connection.removed": organizationConnection,
  "organization.member.added": organizationMember,
  "organization.member.deleted": organizationMember,
  "organization.member.role.assigned": organizationMemberRole,
  "organization.member.role.deleted": organizationMemberRole,
  "organization.group.role.assigned": organizationGroupRole,
  "organization.group.role.deleted": organizationGroupRole,
  "user.created": user,
  "user.updated": user,
  "user.deleted": deletedUser,
  "connection.created": connection,
  "connection.updated": connection,
  "connection.deleted": connection,
};

const context = object({
  tenant: object({ tenant_id: optStr, id: optStr }),
});

/** A short printable string: a type or an id, which end up in logs, metric labels and SQL text columns. */
const label = (maxBytes: number) =>
  z
    .string()
    .min(1)
    .refine((value) => utf8Length(value) <= maxBytes, { error: `must be at most ${maxBytes} bytes` })
    .refine((value) => !hasControlCharacter(value), { error: "must not contain control characters" });

/** The CloudEvent envelope; `data.object` is checked per type by `objectSchemas`. */
export const envelopeSchema = object({
  specversion: z.literal("1.0"),
  type: label(EVENT_LIMITS.maxTypeBytes),
  source: str,
  id: label(EVENT_LIMITS.maxIdBytes),
  time: str,
  data: object({
    object: plainObject,
    previous_object: plainObject.optional(),
    context: context.optional(),
  }),
  a0tenant: str,
  a0stream: str,
  a0purpose: optStr,
});

export const offsetSchema = z.string().min(1).max(1024);

export const errorFrameSchema = z.looseObject({
  error: z.looseObject({ code: z.string(), message: z.string().optional(), offset: offsetSchema.optional() }),
});
