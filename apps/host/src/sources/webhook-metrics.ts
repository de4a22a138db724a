import { Counter, type Registry } from "prom-client";
import type { ConnectionRefusal } from "../http-limits.js";
import { DEFAULT_TENANT } from "../tenants.js";

/** Why a request was refused, as the `reason` label of `switchyard_webhook_refused_total`. */
export type Refusal =
  | "not_found"
  | "method_not_allowed"
  | "unauthorized"
  | "unsupported_media_type"
  | "too_large"
  | "bad_request"
  | "wrong_tenant"
  | "aborted"
  | "unavailable"
  | "internal"
  | "timeout"
  | "headers_too_large"
  | "too_many_connections";

/** A connection closed before a request was read, by its label in `switchyard_webhook_refused_total`. */
export const REFUSALS: Record<ConnectionRefusal, Refusal> = {
  limit: "too_many_connections",
  timeout: "timeout",
  headers_too_large: "headers_too_large",
  malformed: "bad_request",
  aborted: "aborted",
};

/** What the webhook servers count. */
export interface WebhookMetrics {
  /**
   * A refused request, under the tenant of the path it was sent to. Before a path matched (404, and
   * connections closed before a request was read) there is no tenant: the series has no `tenant` label,
   * which PromQL matches as `tenant=""`; nor has the tenant `default` (a config's single `source`).
   */
  refused(reason: Refusal, tenant: string | undefined): void;
  /** An event answered 2xx (stored, or a duplicate of a stored one). */
  accepted(tenant: string): void;
}

/**
 * The `switchyard_webhook_*` counters in `registry`, registered by the first server that uses it: the host
 * starts one server per port, and they all count into the same counters, told apart by `tenant`.
 */
export function webhookMetrics(registry: Registry): WebhookMetrics {
  const existing = (name: string) => registry.getSingleMetric(name);
  const refused =
    (existing("switchyard_webhook_refused_total") as Counter<"reason" | "tenant"> | undefined) ??
    new Counter({
      name: "switchyard_webhook_refused_total",
      help: "Webhook requests refused (or abandoned by the client), by reason and by the tenant of the path (none before a path matched).",
      labelNames: ["reason", "tenant"] as const,
      registers: [registry],
    });
  const events =
    (existing("switchyard_webhook_events_total") as Counter<"tenant"> | undefined) ??
    new Counter({
      name: "switchyard_webhook_events_total",
      help: "Webhook events accepted (stored, or a duplicate of a stored one) and answered 2xx, by tenant.",
      labelNames: ["tenant"] as const,
      registers: [registry],
    });
  // The single `source`'s tenant (`default`) is not a label: a config without `sources` keeps its series.
  const labelled = (tenant: string | undefined) => tenant !== undefined && tenant !== DEFAULT_TENANT;
  return {
    refused: (reason, tenant) => refused.inc(labelled(tenant) ? { reason, tenant: tenant! } : { reason }),
    accepted: (tenant) => events.inc(labelled(tenant) ? { tenant } : {}),
  };
}
