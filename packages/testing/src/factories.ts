import type { Auth0Event, EventContext, EventObjectMap, EventOf, KnownEventType } from "@switchyard/core";
import { EVENT_TYPES } from "@switchyard/core";

/** Options for one generated event: `object` fields override the generated ones (shallow). */
export interface EventOverrides<T extends KnownEventType = KnownEventType> {
  object?: Partial<EventObjectMap[T]>;
  previous_object?: Partial<EventObjectMap[T]>;
  context?: EventContext;
  id?: string;
  time?: string;
  a0purpose?: "test";
  a0tenant?: string;
}

export interface EventFactoryOptions {
  /** Same seed, same events (default 1). */
  seed?: number;
  /** Tenant name (default "acme"). */
  tenant?: string;
  /** Time of the first event (default 2026-11-01T00:00:00Z); each next event is 1 s later. */
  start?: Date;
}

/** `userCreated({ email })`: object fields first, envelope overrides (`id`, `time`, `a0purpose`, …) second. */
type Generator = {
  [T in KnownEventType]: (
    object?: Partial<EventObjectMap[T]>,
    envelope?: Omit<EventOverrides<T>, "object">,
  ) => EventOf<T>;
};

const ALPHANUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const FIRST = ["Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Margaret", "Ken", "Radia"];
const LAST = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Liskov",
  "Dijkstra",
  "Allen",
  "Knuth",
  "Hamilton",
  "Thompson",
  "Perlman",
];
const ORGS = ["Initech", "Globex", "Umbrella", "Hooli", "Stark", "Wayne", "Acme", "Soylent"];
const CITIES = [
  {
    city_name: "Lisbon",
    country_code: "PT",
    country_name: "Portugal",
    continent_code: "EU",
    time_zone: "Europe/Lisbon",
  },
  {
    city_name: "Osaka",
    country_code: "JP",
    country_name: "Japan",
    continent_code: "AS",
    time_zone: "Asia/Tokyo",
  },
  {
    city_name: "Denver",
    country_code: "US",
    country_name: "United States",
    continent_code: "NA",
    time_zone: "America/Denver",
  },
];

/** A deterministic generator of realistic Auth0 events of every type. */
export function createEventFactory(options: EventFactoryOptions = {}) {
  let state = (options.seed ?? 1) >>> 0 || 1;
  const random = () => {
    // mulberry32: small, fast and good enough for fixtures.
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <V>(list: readonly V[]): V => list[Math.floor(random() * list.length)] as V;
  const token = (length: number) => Array.from({ length }, () => pick([...ALPHANUM])).join("");
  const hex = (length: number) =>
    Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join("");
  const tenant = options.tenant ?? "acme";
  const stream = `est_${token(22)}`;
  let clock = (options.start ?? new Date("2026-11-01T00:00:00Z")).getTime();
  const nextTime = () => {
    clock += 1000;
    return new Date(clock).toISOString();
  };

  const person = () => {
    const first = pick(FIRST);
    const last = pick(LAST);
    return { first, last, email: `${first}.${last}.${hex(4)}@example.com`.toLowerCase() };
  };
  const user = (time: string) => {
    const p = person();
    const id = hex(24);
    return {
      user_id: `auth0|${id}`,
      email: p.email,
      email_verified: random() > 0.3,
      name: `${p.first} ${p.last}`,
      given_name: p.first,
      family_name: p.last,
      nickname: p.first.toLowerCase(),
      picture: `https://s.gravatar.com/avatar/${hex(32)}?s=480&r=pg&d=identicon`,
      created_at: time,
      updated_at: time,
      identities: [
        { connection: "Username-Password-Authentication", provider: "auth0", user_id: id, isSocial: false },
      ],
      app_metadata: {},
      user_metadata: { locale: pick(["en", "pt", "ja"]) },
      logins_count: Math.floor(random() * 40),
      last_ip: `203.0.113.${Math.floor(random() * 254) + 1}`,
    };
  };
  const orgRef = () => {
    const name = pick(ORGS);
    return { id: `org_${token(16)}`, name: name.toLowerCase() };
  };
  const organization = () => {
    const name = pick(ORGS);
    return {
      id: `org_${token(16)}`,
      name: `${name.toLowerCase()}-${hex(4)}`,
      display_name: `${name} Inc.`,
      metadata: { tier: pick(["free", "pro", "enterprise"]) },
      branding: {
        logo_url: `https://cdn.example.com/${hex(8)}.png`,
        colors: { primary: "#0059d6", page_background: "#ffffff" },
      },
    };
  };
  const role = () => ({ id: `rol_${token(16)}`, name: pick(["admin", "member", "billing", "viewer"]) });
  const connection = () => ({
    id: `con_${token(16)}`,
    name: pick(["google-oauth2", "Username-Password-Authentication", "okta-acme", "github"]),
    strategy: pick(["google-oauth2", "auth0", "okta", "github"]),
  });
  const groupRef = () => ({
    id: `grp_${token(16)}`,
    name: `${pick(["eng", "ops", "sales", "support"])}-${hex(3)}`,
  });
  const group = (time: string) => {
    const kind = pick(["connection", "organization", "tenant"] as const);
    return {
      ...groupRef(),
      created_at: time,
      updated_at: time,
      type: kind,
      ...(kind === "connection" ? { connection_id: `con_${token(16)}` } : {}),
      ...(kind === "organization" ? { organization_id: `org_${token(16)}` } : {}),
      external_id: `ext-${hex(6)}`,
    };
  };
  const context = (): EventContext => ({
    tenant: { tenant_id: tenant },
    client: { id: token(32), name: pick(["Dashboard", "My SPA", "Mobile App"]), metadata: {} },
    connection: { id: `con_${token(16)}`, name: "Username-Password-Authentication", strategy: "auth0" },
    request: {
      geo: { ...pick(CITIES), latitude: 38.7, longitude: -9.1 },
      hostname: `${tenant}.us.auth0.com`,
      ip: `198.51.100.${Math.floor(random() * 254) + 1}`,
      method: "POST",
      user_agent:
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    },
  });

  const objects: { [T in KnownEventType]: (time: string) => EventObjectMap[T] } = {
    "user.created": user,
    "user.updated": user,
    "user.deleted": (time) => ({ ...user(time), deleted_at: time }),
    "organization.created": organization,
    "organization.updated": organization,
    "organization.deleted": () => {
      const { branding: _ignored, ...rest } = organization();
      return rest;
    },
    "organization.member.added": () => ({ organization: orgRef(), user: { user_id: `auth0|${hex(24)}` } }),
    "organization.member.deleted": () => ({ organization: orgRef(), user: { user_id: `auth0|${hex(24)}` } }),
    "organization.member.role.assigned": () => ({
      organization: orgRef(),
      user: { user_id: `auth0|${hex(24)}` },
      role: role(),
    }),
    "organization.member.role.deleted": () => ({
      organization: orgRef(),
      user: { user_id: `auth0|${hex(24)}` },
      role: role(),
    }),
    "organization.connection.added": () => orgConnection(),
    "organization.connection.updated": () => orgConnection(),
    "organization.connection.removed": () => orgConnection(),
    "organization.group.role.assigned": () => ({ organization: orgRef(), group: groupRef(), role: role() }),
    "organization.group.role.deleted": () => ({ organization: orgRef(), group: groupRef(), role: role() }),
    "group.created": group,
    "group.updated": group,
    "group.deleted": group,
    "group.member.added": () => groupMember(),
    "group.member.deleted": () => groupMember(),
    "group.role.assigned": () => ({ group: groupRef(), role: role() }),
    "group.role.deleted": () => ({ group: groupRef(), role: role() }),
    "connection.created": () => ({ ...connection(), display_name: "Sign in", enabled_clients: [token(32)] }),
    "connection.updated": () => ({ ...connection(), display_name: "Sign in", enabled_clients: [token(32)] }),
    "connection.deleted": () => connection(),
  };
  function orgConnection() {
    return {
      organization: orgRef(),
      connection: { id: `con_${token(16)}`, name: "okta-acme", strategy: "okta" },
      assign_membership_on_login: random() > 0.5,
      show_as_button: true,
      is_signup_enabled: random() > 0.5,
      is_enabled: true,
      organization_access_level: pick(["full", "readonly"]),
    };
  }
  function groupMember() {
    return random() > 0.3
      ? { group: groupRef(), member: { member_type: "user" as const, id: `auth0|${hex(24)}` } }
      : { group: groupRef(), member: { member_type: "connection" as const, id: `con_${token(16)}` } };
  }

  /** One event of `type`; unknown types get a plain object. */
  function event<T extends KnownEventType>(type: T, overrides?: EventOverrides<T>): EventOf<T>;
  function event(type: string, overrides?: EventOverrides & { object?: Record<string, unknown> }): Auth0Event;
  function event(
    type: string,
    overrides: EventOverrides & { object?: Record<string, unknown> } = {},
  ): Auth0Event {
    const time = overrides.time ?? nextTime();
    const make = (objects as Record<string, ((time: string) => object) | undefined>)[type];
    const object = { ...(make ? make(time) : { id: `obj_${token(16)}` }), ...overrides.object };
    const data: Record<string, unknown> = { object, context: overrides.context ?? context() };
    if (overrides.previous_object || type.endsWith(".updated")) {
      data.previous_object = { ...object, ...(overrides.previous_object ?? {}) };
    }
    const result: Record<string, unknown> = {
      specversion: "1.0",
      type,
      source: `urn:auth0:${tenant}.us.auth0.com`,
      id: overrides.id ?? `evt_${token(22)}`,
      time,
      data,
      a0tenant: overrides.a0tenant ?? tenant,
      a0stream: stream,
    };
    if (overrides.a0purpose) result.a0purpose = overrides.a0purpose;
    return result as unknown as Auth0Event;
  }

  const byType = Object.fromEntries(
    EVENT_TYPES.map((type) => [
      type,
      (object?: Record<string, unknown>, envelope?: Omit<EventOverrides, "object">) =>
        event(type, { ...envelope, ...(object ? { object } : {}) }),
    ]),
  ) as unknown as Generator;

  /** `count` events cycling through every known type (or the given ones). */
  function many(count: number, types: readonly string[] = EVENT_TYPES): Auth0Event[] {
    return Array.from({ length: count }, (_, i) => event(types[i % types.length] as string));
  }

  return { event, many, byType, random };
}

export type EventFactory = ReturnType<typeof createEventFactory>;

const shared = createEventFactory();
const camel = (type: string) => type.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase());

type CamelCase<S extends string> = S extends `${infer Head}.${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/**
 * Ready-made factories for every event type: `events.userCreated({ email })`,
 * `events.organizationMemberAdded()`, … and `events.of("user.created")`.
 */
export const events = {
  ...(Object.fromEntries(EVENT_TYPES.map((type) => [camel(type), shared.byType[type]])) as {
    [T in KnownEventType as CamelCase<T>]: Generator[T];
  }),
  of: shared.event,
  many: shared.many,
};
