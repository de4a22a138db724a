import {
  type Action,
  abortable,
  brokerMessage,
  CLOUDEVENTS_JSON,
  definePlugin,
  errorPrefix,
  RetryableError,
  renderTemplate,
  type TraceContext,
} from "@switchyard/core";
import { Connection, describe, type Link } from "./connection.js";
import { type ResolvedRabbitmqOptions, rabbitmqOptions } from "./options.js";

export type { RabbitmqOptions, ResolvedRabbitmqOptions } from "./options.js";
export { rabbitmqOptions } from "./options.js";

const PREFIX = errorPrefix("rabbitmq");

/**
 * Publish each event to a RabbitMQ exchange, persistent, with publisher confirms: delivered means the broker
 * confirmed the message. `mandatory` makes an unroutable message (no queue bound for its routing key) come
 * back as a failure, never a silent drop.
 */
const rabbitmq = definePlugin({ name: "rabbitmq", options: rabbitmqOptions, create: createRabbitmqAction });
export default rabbitmq;

function createRabbitmqAction(options: ResolvedRabbitmqOptions): Action {
  const url = new URL(options.url);
  // Never the URL: it holds the password.
  const where = `${url.hostname}:${url.port || (url.protocol === "amqps:" ? "5671" : "5672")}`;
  const exchange = options.exchange;
  const connection = new Connection(
    withHeartbeat(options.url, options.heartbeatSeconds),
    where,
    options.connectTimeoutMs,
    async (channel) => {
      if (options.declareExchange)
        await channel.assertExchange(exchange, options.declareExchange, { durable: true });
    },
  );

  return {
    async onExecuteEventStream(event, api) {
      const message = brokerMessage(event.message, event.encoded);
      const routingKey = renderTemplate(options.routingKey, event.message);
      const link = await connection.link(api.signal);
      const confirmed = publish(link, exchange, routingKey, message.id, {
        type: message.type,
        // The attempt's trace context (W3C Trace Context), so a consumer's trace continues it.
        headers: api.trace ? traceHeaders(api.trace) : undefined,
        body: Buffer.from(
          message.body.bytes.buffer,
          message.body.bytes.byteOffset,
          message.body.bytes.byteLength,
        ),
      });
      const to = `publish to exchange "${exchange}" at ${where}`;
      let unroutable: boolean;
      try {
        unroutable = await abortable(
          confirmed,
          api.signal,
          () => new RetryableError(`${PREFIX} ${to}: aborted by the host before the broker confirmed`),
        );
      } catch (error) {
        if ((error as { code?: unknown }).code === "RETRYABLE") throw error;
        throw new RetryableError(`${PREFIX} ${to} failed: ${describe(error)}${connection.since()}`);
      }
      if (unroutable) {
        // Retryable, not permanent: binding a queue fixes it, and the event must not be lost meanwhile.
        throw new RetryableError(
          `${PREFIX} ${to}: unroutable, no queue is bound for routing key "${routingKey}"`,
        );
      }
      api.log.debug(`${PREFIX} confirmed`, { routingKey });
    },

    close: () => connection.close(),
  };
}

/**
 * Publish one message and wait for its confirm. Resolves true when the broker returned it as unroutable: a
 * `basic.return` always precedes the `basic.ack` of the same message on the channel.
 */
function publish(
  link: Link,
  exchange: string,
  routingKey: string,
  id: string,
  content: { type: string; body: Buffer; headers: Record<string, string> | undefined },
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    link.channel.publish(
      exchange,
      routingKey,
      content.body,
      {
        persistent: true,
        mandatory: true,
        messageId: id,
        type: content.type,
        contentType: CLOUDEVENTS_JSON,
        timestamp: Math.floor(Date.now() / 1000),
        ...(content.headers ? { headers: content.headers } : {}),
      },
      (error: unknown) => {
        const returns = link.returned.get(id) ?? 0;
        if (returns > 0) {
          if (returns === 1) link.returned.delete(id);
          else link.returned.set(id, returns - 1);
          resolve(true);
        } else if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(false);
      },
    );
  });
}

/**
 * The URL with its `heartbeat` (amqplib reads it there), unless it names one itself. Without heartbeats a
 * connection the network dropped silently (no reset) holds every publish until TCP gives up, many minutes
 * later; with them amqplib closes it after two silent intervals, and the next delivery connects anew.
 */
function withHeartbeat(url: string, seconds: number): string {
  const parsed = new URL(url);
  if (parsed.searchParams.has("heartbeat")) return url;
  parsed.searchParams.set("heartbeat", String(seconds));
  return parsed.toString();
}

/** `traceparent` (and `tracestate`) as AMQP message headers. */
function traceHeaders(trace: TraceContext): Record<string, string> {
  return trace.tracestate
    ? { traceparent: trace.traceparent, tracestate: trace.tracestate }
    : { traceparent: trace.traceparent };
}
