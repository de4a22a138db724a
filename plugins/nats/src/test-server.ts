// Test helper: the real NATS server with JetStream, and a stream per test so that tests run in parallel.
import { randomBytes } from "node:crypto";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { TcpAddress } from "@switchyard/testing";
import type { DestinationMessage, DestinationTarget } from "@switchyard/testing/vitest";
import type { NatsOptions } from "./index.js";

/** The test server: SWITCHYARD_TEST_NATS_URL, or the local one. */
export const NATS_URL = new URL(process.env.SWITCHYARD_TEST_NATS_URL ?? "nats://127.0.0.1:4222");
export const NATS_SERVER: TcpAddress = { host: NATS_URL.hostname, port: Number(NATS_URL.port || 4222) };
export const HOW_TO_RUN = "start nats-server -js on 127.0.0.1:4222, or set SWITCHYARD_TEST_NATS_URL";

/** A message as read from the stream, with the headers of the contract. */
export interface StoredMessage extends DestinationMessage {
  subject: string;
  contentType: string | undefined;
  seq: number;
  /** The W3C Trace Context headers, when the host sent them. */
  traceparent: string | undefined;
  tracestate: string | undefined;
}

/**
 * A fresh memory stream `SY_TEST_<random>` capturing `sy_test_<random>.>`; options publish to
 * `sy_test_<random>.{type}` through `via` (a user and password in the URL, which this server ignores: it has
 * no auth, and the password is there to be looked for in outcomes and logs).
 */
export async function natsTarget(
  via: TcpAddress,
  extra: Partial<NatsOptions> = {},
): Promise<
  DestinationTarget<NatsOptions> & {
    stream: string;
    prefix: string;
    jsm: JetStreamManager;
    stored(): Promise<StoredMessage[]>;
  }
> {
  const connection: NatsConnection = await connect({ servers: NATS_URL.toString() });
  const jsm = await jetstreamManager(connection);
  const token = randomBytes(6).toString("hex");
  const stream = `SY_TEST_${token}`;
  const prefix = `sy_test_${token}`;
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], storage: "memory" as never });
  const password = randomBytes(12).toString("base64url");
  const stored = async (): Promise<StoredMessage[]> => {
    const info = await jsm.streams.info(stream);
    const messages: StoredMessage[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq });
      if (!message) continue;
      messages.push({
        id: message.header.get("Nats-Msg-Id"),
        type: message.header.get("ce-type"),
        contentType: message.header.get("Content-Type") || undefined,
        body: message.string(),
        subject: message.subject,
        seq,
        traceparent: message.header.get("traceparent") || undefined,
        tracestate: message.header.get("tracestate") || undefined,
      });
    }
    return messages;
  };
  return {
    stream,
    prefix,
    jsm,
    stored,
    options: {
      servers: `nats://switchyard:${password}@${via.host}:${via.port}`,
      subject: `${prefix}.{type}`,
      ...extra,
    },
    read: stored,
    async close() {
      await jsm.streams.delete(stream).catch(() => {});
      await connection.close();
    },
  };
}
