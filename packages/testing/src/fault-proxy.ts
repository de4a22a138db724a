import type { AddressInfo } from "node:net";
import { connect, createServer, type Socket } from "node:net";

/** Where a TCP server listens. */
export interface TcpAddress {
  host: string;
  port: number;
}

/**
 * A TCP proxy on 127.0.0.1 to put between a client and a real server, with faults on demand. Faults act on
 * the connections open now and on those opened later, until `heal()`.
 */
export interface FaultProxy extends TcpAddress {
  /** `host:port`, for URLs: `amqp://guest:guest@${proxy.address}`. */
  address: string;
  /** Connections open through the proxy now. */
  openConnections(): number;
  /** Connections accepted since the start. */
  acceptedConnections(): number;
  /** Close every open connection at once, both ways, as a broker restart or a `close_all_connections` does. */
  dropAll(): void;
  /** Hold every byte both ways (a network partition: nothing lost, nothing arrives) until `heal()`. */
  blackHole(): void;
  /**
   * Swallow every byte of the connections open now, both ways, for good: no answer and no reset, as when a
   * firewall or a NAT forgets connections (a database's failover to another address). Later ones pass.
   */
  silenceOpen(): void;
  /** Forward every chunk `ms` late, both ways, keeping its order. */
  delay(ms: number): void;
  /** Forward at once again, releasing what a black hole held. */
  heal(): void;
  /**
   * Cut the next connection whose client sends `marker` once the server has answered it, the answer unsent:
   * the request took effect and the client never hears so (a commit whose reply is lost). After the cut the
   * proxy forwards as before, or with `then: "hole"` holds every byte, as a server gone away, until `heal()`.
   * Resolves once the connection is cut.
   */
  cutAfterAnswer(marker: string, then?: "pass" | "hole"): Promise<void>;
  /** Stop listening and close every connection. */
  close(): Promise<void>;
}

type Mode = { kind: "pass" } | { kind: "hole" } | { kind: "delay"; ms: number };

/** What a pair asks of its proxy: the mode now, and whether a chunk from its client is the one to cut after. */
interface Faults {
  mode(): Mode;
  cutsAfter(chunk: Buffer): (() => void) | undefined;
}

/** Start a fault proxy on 127.0.0.1 (a port of its own) forwarding to `target`. */
export async function startFaultProxy(target: TcpAddress): Promise<FaultProxy> {
  let mode: Mode = { kind: "pass" };
  let cut: { marker: string; then: "pass" | "hole"; done: () => void } | undefined;
  let accepted = 0;
  const pairs = new Set<Pair>();
  const faults: Faults = {
    mode: () => mode,
    cutsAfter(chunk) {
      if (!cut || !chunk.includes(cut.marker)) return undefined;
      const { then, done } = cut;
      mode = { kind: then };
      cut = undefined;
      return done;
    },
  };

  const server = createServer((client) => {
    accepted++;
    const pair = new Pair(client, target, faults);
    pairs.add(pair);
    client.once("close", () => pairs.delete(pair));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    host: "127.0.0.1",
    port,
    address: `127.0.0.1:${port}`,
    openConnections: () => pairs.size,
    acceptedConnections: () => accepted,
    dropAll() {
      for (const pair of pairs) pair.destroy();
    },
    blackHole() {
      mode = { kind: "hole" };
    },
    silenceOpen() {
      for (const pair of pairs) pair.silence();
    },
    delay(ms) {
      mode = { kind: "delay", ms };
    },
    heal() {
      mode = { kind: "pass" };
      for (const pair of pairs) pair.flush();
    },
    cutAfterAnswer(marker, then = "pass") {
      return new Promise((done) => {
        cut = { marker, then, done };
      });
    },
    async close() {
      for (const pair of pairs) pair.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One client connection and its upstream connection, each direction with its own queue of held chunks. */
class Pair {
  private readonly upstream: Socket;
  private readonly toServer: Lane;
  private readonly toClient: Lane;
  /** Its bytes are swallowed, both ways, until it closes. */
  private silent = false;
  /** The client sent the marker of a cut: the server's next bytes end the pair instead of reaching it. */
  private cutting: (() => void) | undefined;

  constructor(
    private readonly client: Socket,
    target: TcpAddress,
    faults: Faults,
  ) {
    this.upstream = connect(target.port, target.host);
    this.toServer = new Lane(this.upstream, faults.mode);
    this.toClient = new Lane(client, faults.mode);
    client.on("data", (chunk: Buffer) => {
      if (this.silent) return;
      // Sent on at once, whatever the mode the cut leaves behind.
      if (!this.cutting) {
        this.cutting = faults.cutsAfter(chunk);
        if (this.cutting) {
          this.upstream.write(chunk);
          return;
        }
      }
      this.toServer.push(chunk);
    });
    this.upstream.on("data", (chunk: Buffer) => {
      if (this.silent) return;
      if (this.cutting) {
        this.destroy();
        this.cutting();
      } else this.toClient.push(chunk);
    });
    // Either side ending or failing ends both: the client sees what it would see from the server.
    for (const socket of [client, this.upstream]) {
      socket.on("error", () => this.destroy());
      socket.on("close", () => this.destroy());
    }
  }

  silence(): void {
    this.silent = true;
    this.toServer.stop();
    this.toClient.stop();
  }

  flush(): void {
    this.toServer.flush();
    this.toClient.flush();
  }

  destroy(): void {
    this.toServer.stop();
    this.toClient.stop();
    this.client.destroy();
    this.upstream.destroy();
  }
}

/** One direction of a pair: writes chunks in order, holding them in a black hole or until their delay ends. */
class Lane {
  private readonly held: Array<{ chunk: Buffer; due: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly out: Socket,
    private readonly mode: () => Mode,
  ) {}

  push(chunk: Buffer): void {
    const mode = this.mode();
    if (mode.kind === "pass" && this.held.length === 0) {
      this.out.write(chunk);
      return;
    }
    this.held.push({ chunk, due: mode.kind === "delay" ? Date.now() + mode.ms : 0 });
    this.flush();
  }

  /** Write every chunk whose time has come, in order; wait for the next one when the mode delays. */
  flush(): void {
    if (this.stopped) return;
    const mode = this.mode();
    if (mode.kind === "hole") return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    while (this.held.length > 0) {
      const next = this.held[0]!;
      if (mode.kind === "delay" && next.due > now) {
        this.timer = setTimeout(() => this.flush(), next.due - now);
        return;
      }
      this.held.shift();
      this.out.write(next.chunk);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.held.length = 0;
  }
}

/**
 * Whether a server answers on `address` (a TCP connect). Without one, tests skip with one line saying how
 * to run them; in CI (`CI=true`) a missing server is a failure, never a skip: this then throws.
 */
export async function serverAvailable(name: string, address: TcpAddress, howToRun: string): Promise<boolean> {
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = connect(address.port, address.host);
    const answer = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(3_000);
    socket.once("connect", () => answer(true));
    socket.once("error", () => answer(false));
    socket.once("timeout", () => answer(false));
  });
  if (reachable) return true;
  const where = `${address.host}:${address.port}`;
  if (process.env.CI === "true") throw new Error(`${name} is required in CI and nothing answers at ${where}`);
  console.warn(`skipping ${name} tests: nothing answers at ${where} (${howToRun})`);
  return false;
}
