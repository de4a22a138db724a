import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { abortable, backoffDelay, errorPrefix, RetryableError } from "@switchyard/core";
import type { ResolvedNatsOptions } from "./options.js";

const PREFIX = errorPrefix("nats");
/** Reconnect backoff: from 100 ms up to 5 s, full jitter, so hosts restarted together spread out. */
const RECONNECT = { initialMs: 100, maxMs: 5_000 };

/**
 * The plugin's one connection. The first connection is made on first use, retried by later deliveries with
 * backoff; once connected, the client reconnects by itself (forever, with the same backoff) and holds
 * publishes meanwhile.
 */
export class Link {
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
        // A connection the network dropped silently (no reset) is found stale after two pings unanswered,
        // and replaced; by default (2 min) publishes would wait on it for minutes.
        pingInterval: this.options.pingIntervalMs,
        maxPingOut: 2,
        // Each request would otherwise make two Error objects up front (a stack for a later timeout or
        // failure): a third of the client's CPU per publish in the host's deep call stacks. Failures are
        // reported by their message (describe()), never their stack.
        noAsyncTraces: true,
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

/** An error as a short line, never the client's options (which hold the URLs). */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && !error.message.includes(code)
    ? `${code} ${error.message}`
    : error.message;
}
