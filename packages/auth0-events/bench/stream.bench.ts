// Events per second through our client, the official auth0 SDK and a bare undici + eventsource-parser loop,
// all reading the same local stream (200,000 realistic frames served by another process), in interleaved rounds.
import { fork } from "node:child_process";
import { ManagementClient } from "auth0";
import { createParser } from "eventsource-parser";
import { Agent, request } from "undici";
import { reportBench } from "../../../scripts/bench-report.ts";
import { stream, streamBatches } from "../src/index.js";

const COUNT = Number(process.env.BENCH_EVENTS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const server = fork(new URL("./stream-server.ts", import.meta.url), [String(COUNT)], {
  execArgv: ["--conditions=@switchyard/source", "--import", "tsx"],
});
const ready = await new Promise<{ port: number; bytes: number }>((resolve) =>
  server.once("message", resolve),
);
const base = `http://127.0.0.1:${ready.port}`;
const dispatcher = new Agent();
const token = "bench-token";

/** Bare loop: undici request() body → TextDecoder → eventsource-parser → JSON.parse. No checks, no resume. */
async function bare(): Promise<number> {
  const { body } = await request(`${base}/api/v2/events`, {
    dispatcher,
    headers: { authorization: `Bearer ${token}` },
  });
  let n = 0;
  const parser = createParser({
    onEvent(message) {
      JSON.parse(message.data);
      n++;
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of body) parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
  return n;
}

/** Ours: every frame checked by core's parseStreamMessage, one item at a time through for-await. */
async function ours(): Promise<number> {
  const controller = new AbortController();
  let n = 0;
  for await (const item of stream({
    domain: base,
    auth: { token },
    cursor: "start",
    signal: controller.signal,
    dispatcher,
  })) {
    if (item.kind === "event" && ++n === COUNT) controller.abort();
  }
  return n;
}

/** Ours, grouped per socket read (what the host consumes). */
async function oursBatches(): Promise<number> {
  const controller = new AbortController();
  let n = 0;
  const options = { domain: base, auth: { token }, cursor: "start", signal: controller.signal, dispatcher };
  for await (const batch of streamBatches(options)) {
    n += batch.length;
    if (n >= COUNT) controller.abort();
  }
  return n;
}

/** The official SDK, pointed at the local server through its `fetch` option. */
async function sdk(): Promise<number> {
  const client = new ManagementClient({
    domain: "bench.example.com",
    token,
    fetch: (input, init) => fetch(String(input).replace("https://bench.example.com", base), init),
  });
  const events = await client.events.subscribe({ from: "start" });
  let n = 0;
  for await (const _message of events) n++;
  return n;
}

const clients = { bare, ours, oursBatches, sdk } as const;
type Name = keyof typeof clients;
const rates: Record<Name, number[]> = { bare: [], ours: [], oursBatches: [], sdk: [] };
const names = Object.keys(clients) as Name[];
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order each round, so that no client always runs first (cold) or last.
  for (let k = 0; k < names.length; k++) {
    const name = names[(round + k) % names.length] as Name;
    const started = performance.now();
    const n = await clients[name]();
    const seconds = (performance.now() - started) / 1000;
    if (n !== COUNT) throw new Error(`${name} read ${n} events, expected ${COUNT}`);
    rates[name].push(n / seconds);
  }
}
server.kill();
await dispatcher.close();

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const m = Object.fromEntries(names.map((name) => [name, median(rates[name])])) as Record<Name, number>;
console.log(
  `${COUNT} frames of ~${Math.round(ready.bytes / COUNT)} bytes, median of ${ROUNDS} interleaved rounds:`,
);
for (const name of names) {
  const line = `${name.padEnd(12)} ${Math.round(m[name]).toLocaleString("en-US").padStart(9)} events/s`;
  console.log(`${line}   ×bare ${(m[name] / m.bare).toFixed(2)}   ×sdk ${(m[name] / m.sdk).toFixed(2)}`);
}
reportBench({
  name: "auth0-events: stream() vs bare undici+eventsource-parser loop",
  unit: "events/s",
  value: m.ours,
  baseline: { name: "bare loop (no validation)", value: m.bare },
  ratio: m.ours / m.bare,
  target: "≥ 0.9× bare loop",
  pass: m.ours / m.bare >= 0.9,
});
reportBench({
  name: "auth0-events: stream() vs official auth0 SDK events.subscribe",
  unit: "events/s",
  value: m.ours,
  baseline: { name: "auth0 SDK v7", value: m.sdk },
  ratio: m.ours / m.sdk,
  target: "> 1× SDK",
  pass: m.ours > m.sdk,
});
