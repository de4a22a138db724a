import { type StreamHooks, type StreamItem, streamBatches } from "@switchyard/auth0-events";
import { expandEventTypes } from "@switchyard/core";
import type { ActionConfig, SwitchyardConfig, TenantSource } from "../config/schema.js";

/** Where events come from. The host reads one stream for all its actions. */
export interface EventSource {
  /** Items grouped as they arrived, resuming after `cursor`. */
  batches(cursor: string | undefined, signal: AbortSignal, hooks: StreamHooks): AsyncIterable<StreamItem[]>;
  /** What it reads from, for the startup log line. */
  describe: string;
}

/**
 * The stream's `event_type` filter (undefined = all): the exact types the enabled actions subscribe to when
 * every pattern is an exact known type. A prefix or `*` asks for everything, so that a type Auth0 adds
 * later reaches it; the host matches every event against each action's patterns anyway.
 */
export function subscribedTypes(actions: readonly ActionConfig[]): string[] | undefined {
  const expanded = expandEventTypes(actions.filter((a) => a.enabled).flatMap((a) => a.events));
  return expanded.all ? undefined : expanded.types;
}

/**
 * A tenant's event stream, as its `auth0` source describes it, asking only for the types the actions that
 * serve this tenant subscribe to; undefined when the tenant has no stream.
 */
export function auth0Source(source: TenantSource, config: SwitchyardConfig): EventSource | undefined {
  const auth0 = source.auth0;
  if (!auth0) return undefined;
  const actions = config.actions.filter((a) => a.tenants === undefined || a.tenants.includes(source.tenant));
  const eventTypes = subscribedTypes(actions);
  const auth = auth0.token
    ? { token: auth0.token }
    : {
        clientId: auth0.clientId!,
        clientSecret: auth0.clientSecret!,
        ...(auth0.audience ? { audience: auth0.audience } : {}),
      };
  return {
    describe: `Auth0 tenant ${auth0.domain}`,
    batches: (cursor, signal, hooks) =>
      streamBatches({
        domain: auth0.domain,
        auth,
        cursor,
        fromTimestamp: cursor ? undefined : auth0.fromTimestamp,
        eventTypes,
        signal,
        hooks,
        ...(auth0.idleTimeoutMs !== undefined ? { idleTimeoutMs: auth0.idleTimeoutMs } : {}),
        ...(auth0.onCursorExpired === "from-timestamp" && auth0.fromTimestamp
          ? { onCursorExpired: { fromTimestamp: auth0.fromTimestamp } }
          : {}),
      }),
  };
}
