import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createEventFactory, waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import { type Host, startHost } from "../src/host.js";
import type { EventSource } from "../src/sources/auth0-stream.js";

const EVENTS = 20_000;
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
/** Bytes of live JavaScript objects, after a full collection. */
const liveHeap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
let dir: string;
let host: Host | undefined;
let server: Server | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-isolation-"));
});
afterEach(async () => {
  await host?.stop();
  host = undefined;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server?.closeAllConnections();
  rmSync(dir, { recursive: true, force: true });
});

/** A receiver that remembers which event ids each path accepted, and answers `/down` with 503 while told to. */
async function receiver() {
  const accepted = new Map<string, Set<string>>();
  const state = { down: true, refused: 0 };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "/";
      if (path === "/down" && state.down) {
        state.refused++;
        res.writeHead(503).end();
        return;
      }
      const id = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: string }).id;
      const ids = accepted.get(path) ?? new Set<string>();
      accepted.set(path, ids.add(id));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  return { url, state, count: (path: string) => accepted.get(path)?.size ?? 0 };
}

/** A stream of `total` fresh events, made as they are read and never kept (so the test's memory is the host's). */
function generatedSource(total: number): EventSource {
  const factory = createEventFactory({ seed: 21 });
  return {
    describe: "generated",
    async *batches(cursor, signal, hooks) {
      hooks.onConnect?.({ attempt: 1 });
      for (let next = cursor ? Number(cursor) : 0; next < total && !signal.aborted; ) {
        const events = factory.many(Math.min(100, total - next));
        yield events.map((event) => ({
          kind: "event" as const,
          offset: String(++next),
          event,
          json: JSON.stringify(event),
        }));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    },
  };
}

describe("isolation between actions", () => {
  it("keeps delivering to every other action while one destination answers 503 to everything", async () => {
    const rx = await receiver();
    const http = (name: string, path: string, extra: Record<string, unknown> = {}) => ({
      name,
      plugin: "@switchyard/plugin-http",
      events: ["*"],
      with: { url: `${rx.url}${path}` },
      ...extra,
    });
    const loaded = finishConfig(
      {
        source: { auth0: { domain: "unused.example", token: "t0ken" } },
        state: join(dir, "state"),
        server: { enabled: false },
        log: { level: "warn" },
        actions: [
          http("first", "/one"),
          http("second", "/two"),
          // Retried every 3 s at most, never dead-lettered, never paused: its backlog waits in the store.
          http("failing", "/down", {
            retry: { maxAttempts: 1000, initialDelayMs: 1000, maxDelayMs: 3000, factor: 2 },
            pauseAfterFailures: 0,
          }),
        ],
      },
      join(dir, "switchyard.yaml"),
      {},
    );
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        logs.push(String(chunk));
        callback();
      },
    });
    const heapBefore = liveHeap();
    const before = process.memoryUsage().rss;
    host = await startHost(loaded, { source: generatedSource(EVENTS), logDestination: sink });

    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    try {
      await waitFor(() => rx.count("/one") === EVENTS && rx.count("/two") === EVENTS, {
        timeoutMs: 120_000,
        intervalMs: 100,
      });
      // The failing action was tried (and refused) throughout, and the stream never paused for it.
      expect(rx.state.refused).toBeGreaterThanOrEqual(EVENTS);
      expect(logs.join("")).not.toContain("backpressure");
      expect(rx.count("/down")).toBe(0);
      // Now the failing action's whole backlog waits: in the store, not in the host's memory (20,000
      // events held as objects would be over 40 MB).
      const heapGrowth = liveHeap() - heapBefore;
      expect(heapGrowth).toBeLessThan(20 * 1024 * 1024);

      rx.state.down = false;
      await waitFor(() => rx.count("/down") === EVENTS, { timeoutMs: 60_000, intervalMs: 100 });
    } finally {
      clearInterval(sampler);
    }
    // The failing action's 20,000 deliveries wait in the store, not in memory: the host's RSS grows by its
    // working set (runners' bounded queues, SQLite's page cache, undici's pools), not by the backlog.
    expect(peak - before).toBeLessThan(250 * 1024 * 1024);
  }, 240_000);
});
