import { z } from "zod";
import type { KnownEventType } from "./event-types.js";

// Validation is deliberately shallow where Auth0 is loose: required fields are checked, everything else is
// kept as it came (looseObject), so a field Auth0 adds tomorrow never makes us drop an event today.

const str = z.string();
// `data.object` is checked per type below; here only "is it an object". A custom check costs a fraction of
// z.record's walk over every key, on the hot path of every event.
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const plainObject = z.custom<Record<string, unknown>>(isObject, { error: "expected an object" });
const optStr = z.string().optional();

const identity = z.looseObject({ connection: str, provider: str, user_id: z.union([str, z.number()]) });

const user = z.looseObject({
  user_id: str,
  created_at: str,
  updated_at: str,
  identities: z.array(identity),
  email: optStr,
  email_verified: z.boolean().optional(),
});
const deletedUser = user.extend({ deleted_at: str });

const organization = z.looseObject({ id: str, name: str, display_name: optStr });
const organizationRef = z.looseObject({ id: str, name: optStr });
const roleRef = z.looseObject({ id: str, name: optStr });
const groupRef = z.looseObject({ id: str, name: optStr });

const organizationMember = z.looseObject({
  organization: organizationRef,
  user: z.looseObject({ user_id: str }),
});
const organizationMemberRole = organizationMember.extend({ role: roleRef });
const organizationConnection = z.looseObject({
  organization: organizationRef,
  connection: z.looseObject({ id: str }),
});
const organizationGroupRole = z.looseObject({
  organization: organizationRef,
  group: groupRef,
  role: roleRef,
});

const group = z.looseObject({
  id: str,
  name: str,
  created_at: optStr,
  type: z.enum(["connection", "organization", "tenant"]),
});
const groupMember = z.looseObject({
  group: groupRef,
  member: z.looseObject({ member_type: z.enum(["user", "connection"]), id: str }),
});
const groupRole = z.looseObject({ group: groupRef, role: roleRef });
const connection = z.looseObject({ id: str, name: str, strategy: optStr });

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

const context = z.looseObject({
  tenant: z.looseObject({ tenant_id: optStr, id: optStr }),
});

/** The CloudEvent envelope; `data.object` is checked per type by `objectSchemas`. */
export const envelopeSchema = z.looseObject({
  specversion: z.literal("1.0"),
  type: z.string().min(1),
  source: str,
  id: z.string().min(1),
  time: str,
  data: z.looseObject({
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
