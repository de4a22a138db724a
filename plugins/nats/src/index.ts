import type { JetStreamClient } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import {
  type Action,
  abortable,
  brokerMessage,
  CLOUDEVENTS_JSON,
  definePlugin,
  errorPrefix,
  PermanentError,
  RetryableError,
  renderTemplate,
} from "@switchyard/core";
import { describe, Link } from "./link.js";
import { natsOptions, type ResolvedNatsOptions } from "./options.js";

export type { NatsOptions, ResolvedNatsOptions } from "./options.js";
export { natsOptions } from "./options.js";

const PREFIX = errorPrefix("nats");

/**
 * Publish each event to NATS JetStream and wait for the stream's ack. `Nats-Msg-Id` is the event id, so the
 * stream's duplicate window drops redeliveries. A subject that no stream captures is a permanent failure.
 */
const nats = definePlugin({ name: "nats", options: natsOptions, create: createNatsAction });
export default nats;

function createNatsAction(options: ResolvedNatsOptions): Action {
  // Never the URLs: they may hold passwords.
  const where = options.servers.map((server) => new URL(server).host).join(",");
  const link = new Link(options, where);

  return {
    async onExecuteEventStream(event, api) {
      const message = brokerMessage(event.message, event.encoded);
      const subject = renderTemplate(options.subject, event.message);
      const js = await link.jetstream(api.signal);
      const sent = headers();
      sent.set("Nats-Msg-Id", message.id);
      sent.set("ce-type", message.type);
      sent.set("Content-Type", CLOUDEVENTS_JSON);
      // The attempt's trace context (W3C Trace Context), so a consumer's trace continues it.
      if (api.trace) {
        sent.set("traceparent", api.trace.traceparent);
        if (api.trace.tracestate) sent.set("tracestate", api.trace.tracestate);
      }
      const to = `publish to "${subject}" at ${where}`;
      let ack: Awaited<ReturnType<JetStreamClient["publish"]>>;
      try {
        ack = await abortable(
          // retries: 0, the host retries; a repeated msgID within the stream's window is acked as a duplicate.
          link.untilDisconnect(
            js.publish(subject, message.body.bytes, { msgID: message.id, headers: sent, retries: 0 }),
          ),
          api.signal,
          () => new RetryableError(`${PREFIX} ${to}: aborted by the host before the stream acked`),
        );
      } catch (error) {
        if ((error as { code?: unknown }).code === "RETRYABLE") throw error;
        if (noStream(error)) {
          throw new PermanentError(`${PREFIX} ${to}: no stream captures subject "${subject}"`);
        }
        throw new RetryableError(`${PREFIX} ${to} failed: ${describe(error)}${link.since()}`);
      }
      api.log.debug(ack.duplicate ? `${PREFIX} duplicate, the stream kept the first` : `${PREFIX} acked`, {
        stream: ack.stream,
        seq: ack.seq,
      });
    },

    close: () => link.close(),
  };
}

/** JetStream answers a publish that no stream captures with "no responders" (503). */
function noStream(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | null)?.cause;
  return (
    (error as Error | null)?.name === "JetStreamNotEnabled" ||
    /no responders/i.test(String((error as Error | null)?.message)) ||
    /no responders/i.test(String((cause as Error | undefined)?.message))
  );
}
