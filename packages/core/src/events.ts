import type { KnownEventType } from "./event-types.js";
import { isKnownEventType } from "./event-types.js";
import type { EventObjectMap } from "./objects.js";

/** `data.context`: where the change came from. */
export interface EventContext {
  tenant: { tenant_id?: string; id?: string };
  client?: { id: string; name?: string; metadata?: Record<string, string> };
  connection?: { id: string; name?: string; strategy?: string };
  request?: {
    geo?: {
      continent_code?: string;
      country_code?: string;
      country_name?: string;
      latitude?: number;
      longitude?: number;
      subdivision_code?: string;
      subdivision_name?: string;
      city_name?: string;
      time_zone?: string;
    };
    hostname?: string;
    ip?: string;
    method?: string;
    user_agent?: string;
    custom_domain?: string;
  };
}

export interface EventData<O> {
  object: O;
  previous_object?: O;
  context?: EventContext;
}

/** The CloudEvents 1.0 envelope Auth0 sends, with its `a0*` extensions. */
export interface CloudEvent<T extends string = string, O = unknown> {
  specversion: "1.0";
  type: T;
  source: string;
  id: string;
  time: string;
  data: EventData<O>;
  a0tenant: string;
  a0stream: string;
  /** `"test"` for events sent by Auth0's test button or simulator, and by `switchyard send-test`. */
  a0purpose?: "test";
}

/** The event for one known type: `EventOf<"user.created">`. */
export type EventOf<T extends KnownEventType> = CloudEvent<T, EventObjectMap[T]>;

/** Every known event, discriminated on `type`. */
export type KnownAuth0Event = { [T in KnownEventType]: EventOf<T> }[KnownEventType];

/** An event whose type this version does not know yet: it still flows to `*` and prefix subscribers. */
export type UnknownAuth0Event = CloudEvent<string, Record<string, unknown>>;

/**
 * Any event from the stream. Narrow it with `isKnownEvent` (then `switch (e.type)` narrows `data.object`)
 * or with `isEventType(e, "user.created")`.
 */
export type Auth0Event = KnownAuth0Event | UnknownAuth0Event;

/** True when the event's type is one this version knows; narrows to the discriminated union. */
export function isKnownEvent(event: Auth0Event): event is KnownAuth0Event {
  return isKnownEventType(event.type);
}

/** True when the event has exactly this type; narrows `data.object`. */
export function isEventType<T extends KnownEventType>(
  event: Auth0Event,
  type: T,
): event is Extract<KnownAuth0Event, { type: T }> {
  return event.type === type;
}
