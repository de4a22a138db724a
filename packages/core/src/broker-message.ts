/**
 * The message contract of the broker plugins (RabbitMQ, NATS, Redis Streams), documented once here and in
 * docs/brokers.md:
 * - the body is the CloudEvent JSON exactly as the HTTP plugin sends it (CloudEvents structured mode, content
 *   type `application/cloudevents+json`);
 * - the message id is the Auth0 event id (a consumer dedupes on it: delivery is at least once);
 * - the event type travels beside the body, so a consumer can route without parsing it;
 * - routing keys and subjects are templates with the placeholders `{type}`, `{tenant}` and `{subject}`.
 */
import type { EncodedEvent } from "./encoded.js";
import { encodedEvent } from "./encoded.js";
import type { Auth0Event } from "./events.js";
import { subjectOf } from "./subject.js";

/** The content type of a CloudEvent in structured mode. */
export const CLOUDEVENTS_JSON = "application/cloudevents+json";

/** The placeholders a routing key or subject template may hold. */
export const TEMPLATE_PLACEHOLDERS = ["type", "tenant", "subject"] as const;

/** One event as every broker plugin publishes it. */
export interface BrokerMessage {
  /** The Auth0 event id. */
  id: string;
  /** The event type. */
  type: string;
  /** The CloudEvent JSON (the host's encoding when it has one: Auth0's bytes, as the HTTP plugin sends). */
  body: EncodedEvent;
}

/** The message of `event`, reusing the host's encoding of it when given. */
export function brokerMessage(event: Auth0Event, encoded?: EncodedEvent): BrokerMessage {
  return { id: event.id, type: event.type, body: encoded ?? encodedEvent(JSON.stringify(event)) };
}

/**
 * The `{subject}` of a routing key or subject: core's `subjectOf` (what the host orders by, so a consumer
 * reads one subject's events in stream order), or `none` for an event about no one in particular.
 */
export function eventSubject(event: Auth0Event): string {
  return subjectOf(event) ?? "none";
}

/** The unknown placeholders of a template (`{user}` in `auth0.{user}`), for option errors. */
export function unknownPlaceholders(template: string): string[] {
  const names = [...template.matchAll(/\{([^}]*)\}/g)].map((match) => match[1] ?? "");
  return names.filter((name) => !(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name));
}

/**
 * Fill a template's placeholders for `event`. In the values of `{tenant}` and `{subject}` a `.`, `*`, `>` or
 * whitespace becomes `_`: they stay one token of a NATS subject or an AMQP topic key (an email-like id holds
 * dots). The type keeps its dots, which are meant as separators (`auth0.user.created`).
 */
export function renderTemplate(template: string, event: Auth0Event): string {
  if (!template.includes("{")) return template;
  return template.replace(/\{(type|tenant|subject)\}/g, (_, name: string) => {
    if (name === "type") return event.type;
    return oneToken(name === "tenant" ? (event.a0tenant ?? "") : eventSubject(event));
  });
}

function oneToken(value: string): string {
  return value.replace(/[.*>\s]/g, "_");
}
