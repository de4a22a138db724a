// The shape of `data.object` per event type, as in the auth0 SDK's stream schema. Objects are open:
// Auth0 adds fields over time: they are kept at run time, and typed here once the schema names them.

export interface UserIdentity {
  connection: string;
  provider: string;
  user_id: string;
  isSocial?: boolean;
}

export interface UserObject {
  user_id: string;
  created_at: string;
  updated_at: string;
  identities: UserIdentity[];
  email?: string;
  email_verified?: boolean;
  username?: string;
  phone_number?: string;
  phone_verified?: boolean;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
  picture?: string;
  name?: string;
  nickname?: string;
  given_name?: string;
  family_name?: string;
  multifactor?: string[];
  last_ip?: string;
  last_login?: string;
  logins_count?: number;
  blocked?: boolean;
}

export interface DeletedUserObject extends UserObject {
  deleted_at: string;
}

export interface OrganizationBranding {
  logo_url?: string;
  colors?: { primary?: string; page_background?: string };
}

export interface OrganizationObject {
  id: string;
  name: string;
  display_name?: string;
  metadata?: Record<string, string>;
  branding?: OrganizationBranding;
}

export interface OrganizationRef {
  id: string;
  name?: string;
}

export interface RoleRef {
  id: string;
  name?: string;
}

export interface OrganizationMemberObject {
  organization: OrganizationRef;
  user: { user_id: string };
}

export interface OrganizationMemberRoleObject extends OrganizationMemberObject {
  role: RoleRef;
}

export interface OrganizationConnectionObject {
  organization: OrganizationRef;
  connection: { id: string; name?: string; strategy?: string };
  assign_membership_on_login?: boolean;
  show_as_button?: boolean;
  is_signup_enabled?: boolean;
  is_enabled?: boolean;
  organization_access_level?: string;
}

export interface GroupRef {
  id: string;
  name?: string;
}

export interface OrganizationGroupRoleObject {
  organization: OrganizationRef;
  group: GroupRef;
  role: RoleRef;
}

export interface GroupObject {
  id: string;
  name: string;
  created_at: string;
  updated_at?: string;
  external_id?: string;
  type: "connection" | "organization" | "tenant";
  connection_id?: string;
  organization_id?: string;
}

export interface GroupMemberObject {
  group: GroupRef;
  member: { member_type: "user" | "connection"; id: string };
}

export interface GroupRoleObject {
  group: GroupRef;
  role: RoleRef;
}

export interface ConnectionObject {
  id: string;
  name: string;
  strategy: string;
  display_name?: string;
  enabled_clients?: string[];
  realms?: string[];
  metadata?: Record<string, string>;
}

/** `data.object` for each known event type. */
export interface EventObjectMap {
  "group.created": GroupObject;
  "group.deleted": GroupObject;
  "group.updated": GroupObject;
  "group.member.added": GroupMemberObject;
  "group.member.deleted": GroupMemberObject;
  "group.role.assigned": GroupRoleObject;
  "group.role.deleted": GroupRoleObject;
  "organization.created": OrganizationObject;
  "organization.updated": OrganizationObject;
  "organization.deleted": OrganizationObject;
  "organization.connection.added": OrganizationConnectionObject;
  "organization.connection.updated": OrganizationConnectionObject;
  "organization.connection.removed": OrganizationConnectionObject;
  "organization.member.added": OrganizationMemberObject;
  "organization.member.deleted": OrganizationMemberObject;
  "organization.member.role.assigned": OrganizationMemberRoleObject;
  "organization.member.role.deleted": OrganizationMemberRoleObject;
  "organization.group.role.assigned": OrganizationGroupRoleObject;
  "organization.group.role.deleted": OrganizationGroupRoleObject;
  "user.created": UserObject;
  "user.updated": UserObject;
  "user.deleted": DeletedUserObject;
  "connection.created": ConnectionObject;
  "connection.updated": ConnectionObject;
  "connection.deleted": ConnectionObject;
}
