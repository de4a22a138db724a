// Webhook ingest: accepted events per second into durable state (the webhook source, with a sink that writes
// each group of events and a delivery per event into the real SQLite store before the 2xx), beside a bare
// `http.createServer` that reads the body and answers 204, driven by the same undici client in the same run.
// `node --import tsx bench/webhook.bench.ts` (BENCH_QUICK=1: a short run; BENCH_SECONDS sets the length).
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory } from "@switchyard/testing";
import { Pool } from "undici";
import { reportBench } from "../../../scripts/bench-report.ts";
import { startWebhookSource } from "../src/sources/webhook.js";
import { openStoreThread } from "../src/store/sqlite/client.js";

const quick = process.env.BENCH_QUICK === "1";
const SECONDS = Number(process.env.BENCH_SECONDS ?? (quick ? 3 : 10));
/** Keep-alive connections, as a busy Auth0 stream would open, and requests in flight on them. */
const CONNECTIONS = 16;
const IN_FLIGHT = 64;
const TOKEN = "bench-bearer-token-0123456789";
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

// Distinct realistic bodies made up front, so that the client's own work is the same for both servers.
const factory = createEventFactory({ seed: 5 });
const bodies = Array.from({ length: 20_000 }, () => JSON.stringify(factory.event("user.created")));

/** POST distinct events as fast as the server answers for `seconds`; returns the 2xx answers per second. */
async function drive(origin: string, path: string, seconds: number, offset: number): Promise<number> {
  const pool = new Pool(origin, { connections: CONNECTIONS, pipelining: 1 });
  let next = offset;
  let ok = 0;
  let failed = 0;
  const until = Date.now() + seconds * 1000;
  const worker = async () => {
    while (Date.now() < until) {
      // A fresh id each time, so that the store never drops one as a duplicate.
      const id = (next++).toString(36).padStart(4, "0").slice(-4);
      const body = (bodies[next % bodies.length] as string).replace(/"evt_[A-Za-z0-9]{4}/, `"evt_${id}`);
      const response = await pool.request({
        path,
        method: "POST",
        body,
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      });
      await response.body.dump();
      if (response.statusCode < 300) ok++;
      else failed++;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const elapsed = (Date.now() - started) / 1000;
  await pool.close();
  if (failed > 0) throw new Error(`${failed} requests failed`);
  return ok / elapsed;
}

async function bare(): Promise<number> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  const { port } = server.address() as AddressInfo;
  try {
    return await drive(`http://127.0.0.1:${port}`, "/", SECONDS, 0);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

async function webhook(): Promise<{ rate: number; stored: number }> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-webhook-bench-"));
  // The store on a thread of its own, as the host runs it; requests that arrive during a write go together
  // in the next one.
  const store = await openStoreThread(join(dir, "switchyard.db"), { synchronous: "normal" });
  let stored = 0;
  const source = await startWebhookSource(
    { port: 0, path: "/auth0/events", auth: { bearer: TOKEN } },
    async (items) => {
      const result = await store.ingest(
        items.map(({ event, json }) => ({
          event,
          payload: json,
          deliveries: [{ action: "a1", orderKey: null, held: false }],
        })),
        undefined,
      );
      const duplicates = result.keys.filter((key) => key === undefined).length;
      stored += items.length - duplicates;
      return { duplicates };
    },
    { log: quiet },
  );
  try {
    const rate = await drive(new URL(source.url).origin, "/auth0/events", SECONDS, 1_000_000);
    return { rate, stored };
  } finally {
    await source.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Alternate rounds of the bare server and ours, and keep each one's median: on a shared machine the load
// changes during a run, and alternating exposes both to the same changes.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3));
const bareRates: number[] = [];
const ourRates: number[] = [];
let stored = 0;
for (let round = 0; round < ROUNDS; round++) {
  bareRates.push(await bare());
  const ours = await webhook();
  ourRates.push(ours.rate);
  stored += ours.stored;
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const baseline = median(bareRates);
const rate = median(ourRates);
const show = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(`bare http.createServer (204):      ${show(baseline)} requests/s (median of ${ROUNDS})`);
console.log(
  `webhook source into SQLite (2xx):  ${show(rate)} events/s (median of ${ROUNDS}; ${show(stored)} stored)`,
);
reportBench({
  name: "webhook ingest into durable state",
  unit: "events/s",
  value: rate,
  baseline: { name: "bare http.createServer answering 204", value: baseline },
  ratio: rate / baseline,
});
