// Test helper: the real RabbitMQ broker, and an exchange and queue per test so that tests run in parallel.
import { randomBytes } from "node:crypto";
import type { TcpAddress } from "@switchyard/testing";
import type { DestinationMessage, DestinationTarget } from "@switchyard/testing/vitest";
import { connect } from "amqplib";
import type { RabbitmqOptions } from "./index.js";

/** The test broker: SWITCHYARD_TEST_RABBITMQ_URL, or the local one (guest/guest). */
export const RABBITMQ_URL = new URL(
  process.env.SWITCHYARD_TEST_RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672",
);
export const RABBITMQ_SERVER: TcpAddress = {
  host: RABBITMQ_URL.hostname,
  port: Number(RABBITMQ_URL.port || 5672),
};
export const HOW_TO_RUN =
  "start rabbitmq-server on 127.0.0.1:5672 (guest/guest), or set SWITCHYARD_TEST_RABBITMQ_URL";

/** Messages as a consumer got them, with the AMQP properties of the contract. */
export interface ReceivedMessage extends DestinationMessage {
  routingKey: string;
  contentType: unknown;
  persistent: boolean;
  /** The message's AMQP headers (the W3C Trace Context, when the host sent it). */
  headers: Record<string, unknown> | undefined;
}

/**
 * A fresh topic exchange `sy_test_<random>` and an exclusive queue bound to it with `bindingKey` (every key by
 * default), consumed from the start; options publish into the exchange through `via`.
 */
export async function rabbitTarget(
  via: TcpAddress,
  { bindingKey = "#", extra = {} }: { bindingKey?: string | null; extra?: Partial<RabbitmqOptions> } = {},
): Promise<DestinationTarget<RabbitmqOptions> & { exchange: string; received: ReceivedMessage[] }> {
  const model = await connect(RABBITMQ_URL.toString());
  const channel = await model.createChannel();
  const exchange = `sy_test_${randomBytes(6).toString("hex")}`;
  await channel.assertExchange(exchange, "topic", { durable: false, autoDelete: false });
  const received: ReceivedMessage[] = [];
  if (bindingKey !== null) {
    const { queue } = await channel.assertQueue("", { exclusive: true });
    await channel.bindQueue(queue, exchange, bindingKey);
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        received.push({
          id: String(message.properties.messageId),
          type: String(message.properties.type),
          body: message.content.toString(),
          routingKey: message.fields.routingKey,
          contentType: message.properties.contentType,
          persistent: message.properties.deliveryMode === 2,
          headers: message.properties.headers,
        });
      },
      { noAck: true },
    );
  }
  const url = new URL(RABBITMQ_URL);
  url.host = `${via.host}:${via.port}`;
  return {
    exchange,
    received,
    options: { url: url.toString(), exchange, ...extra },
    read: async () => [...received],
    async close() {
      await channel.deleteExchange(exchange).catch(() => {});
      await model.close().catch(() => {});
    },
  };
}
