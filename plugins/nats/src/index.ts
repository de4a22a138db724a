import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import {
  type Action,
  abortable,
  backoffDelay,
  brokerMessage,
  CLOUDEVENTS_JSON,
  definePlugin,
  errorPrefix,
  PermanentError,
  RetryableError,
  renderTemplate,
} from "@switchyard/core";
import { natsOptions, type ResolvedNatsOptions } from "./options.js";

export type { NatsOptions, ResolvedNatsOptions } from "./options.js";
export { natsOptions } from "./options.js";

const PREFIX = errorPrefix("nats");
/** Reconnect backoff: from 100 ms up to 5 s, full jitter, so hosts restarted together spread out. */
const RECONNECT = { initialMs: 100, maxMs: 5_000 };

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

/**
 * The plugin's one connection. The first connection is made on first use, retried by later deliveries with
 * backoff; once connected, the client reconnects by itself (forever, with the same backoff) and holds
 * publishes meanwhile.
 */
class Link {
  private connection: Promise<NatsConnection> | undefined;
  private failures = 0;
  private retryAt = 0;
  private closed = false;
  private lastError: string | undefined;
  private client: JetStreamClient | undefined;
  /** Publishes awaiting their ack: a disconnect fails them at once rather than at their request timeout. */
  private readonly waiting = new Set<(error: Error) => void>();

  constructor(
    private readonly options: ResolvedNatsOptions,
    private readonly where: string,
  ) {}

  async jetstream(signal: AbortSignal): Promise<JetStreamClient> {
    if (this.client) return this.client;
    if (this.closed) throw new RetryableError(`${PREFIX} the action is closed`);
    this.connection ??= this.connect();
    const connection = await abortable(
      this.connection,
      signal,
      () =>
        new RetryableError(`${PREFIX} ${this.where}: aborted by the host while connecting${this.since()}`),
    );
    this.client ??= jetstream(connection);
    return this.client;
  }

  private async connect(): Promise<NatsConnection> {
    const wait = this.retryAt - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    let reconnects = 0;
    try {
      const connection = await connect({
        ...serversAndCredentials(this.options.servers),
        ...(this.options.token ? { token: this.options.token } : {}),
        timeout: this.options.connectTimeoutMs,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () => backoffDelay(++reconnects, RECONNECT),
        name: "switchyard",
      });
      if (this.closed) {
        await connection.close();
        throw new RetryableError(`${PREFIX} the action is closed`);
      }
      this.failures = 0;
      this.lastError = undefined;
      void this.watch(connection, () => {
        reconnects = 0;
      });
      // A connection that closes for good (an auth error, the server gone past the client's own retries):
      // the next delivery connects anew.
      void connection.closed().then(() => {
        if (this.closed || this.client === undefined) return;
        this.client = undefined;
        this.connection = undefined;
      });
      return connection;
    } catch (error) {
      this.failures++;
      this.retryAt = Date.now() + backoffDelay(this.failures, RECONNECT);
      this.connection = undefined;
      if ((error as { code?: unknown }).code === "RETRYABLE") throw error;
      this.lastError = describe(error);
      throw new RetryableError(`${PREFIX} connecting to ${this.where} failed: ${this.lastError}`);
    }
  }

  /** Keep the last connection problem for the next outcome; reset the backoff once reconnected. */
  private async watch(connection: NatsConnection, reconnected: () => void): Promise<void> {
    for await (const status of connection.status()) {
      if (status.type === "reconnect") {
        reconnected();
        this.lastError = undefined;
      } else if (status.type === "disconnect") {
        this.lastError = "disconnected";
        // An ack may have been lost with the connection: fail now, the host retries with the same msgID.
        const error = new Error("the connection dropped before the stream acked");
        for (const fail of this.waiting) fail(error);
        this.waiting.clear();
      } else if (status.type === "error") this.lastError = describe(status.error);
    }
  }

  /** `publish`, failed as soon as the connection drops. */
  untilDisconnect<T>(publish: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      publish.then(resolve, reject).finally(() => this.waiting.delete(reject));
    });
  }

  since(): string {
    return this.lastError ? ` (connection: ${this.lastError})` : "";
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    this.client = undefined;
    if (!connection) return;
    // A connection still being made is closed when it opens (connect() above sees `closed`).
    const open = await abortable(connection, AbortSignal.timeout(2_000), () => new Error("timeout")).catch(
      () => undefined,
    );
    await open?.close().catch(() => {});
  }
}

/**
 * The servers without credentials, and the credentials as options. nats.js reads the port as the first
 * `:` followed by digits, so a password starting with a digit (`nats://u:7x@host:4222`) would be taken for
 * the port; and credentials kept out of the server list stay out of the client's errors and status events.
 */
function serversAndCredentials(servers: string[]): { servers: string[]; user?: string; pass?: string } {
  let user: string | undefined;
  let pass: string | undefined;
  const bare = servers.map((server) => {
    const url = new URL(server);
    if (url.username && user === undefined) {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
    }
    return `${url.protocol}//${url.host}`;
  });
  return { servers: bare, ...(user === undefined ? {} : { user, pass: pass ?? "" }) };
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

/** An error as a short line, never the client's options (which hold the URLs). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && !error.message.includes(code)
    ? `${code} ${error.message}`
    : error.message;
}
