// A microbenchmark of the trace cost on the host's main thread alone: N events, each with an intake span and
// three attempt spans (the 3-action run), made and ended as the engine does, exported over OTLP/HTTP to a
// sink in a child process (so that its work is not counted). Prints µs of CPU per event on the main thread
// while the spans are made, and in all threads until the last batch is exported (shutdown).
// The events come at a steady rate (default 5,000/s, 20,000 spans/s, about the 3-action run's on a shared
// machine), so that the batch processor's bounded queue does not drop spans and their export is counted.
//   node --conditions=@switchyard/source --import tsx bench/spans.bench.ts [events] [events per second]
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { createEventFactory } from "@switchyard/testing";
import pino from "pino";
import { tracingSettings } from "../src/telemetry/index.js";
import type { DeliveryTracing } from "../src/telemetry/types.js";

const N = Number(process.argv[2] ?? 50_000);
const RATE = Number(process.argv[3] ?? 5_000);
const ticks = (file: string) => {
  const f = readFileSync(file, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10_000; // µs (100 Hz clock ticks)
};
const main = () => ticks(`/proc/self/task/${process.pid}/stat`);
const all = () => ticks("/proc/self/stat");

const sink = fork(
  "-e",
  [
    `let spans = 0; require("node:http").createServer((req, res) => { const c = []; req.on("data", (d) => c.push(d)); req.on("end", () => { spans += Buffer.concat(c).toString("latin1").split('"spanId"').length - 1; res.writeHead(200, { "content-type": "application/json" }).end("{}"); }); }).listen(0, "127.0.0.1", function () { process.send({ port: this.address().port }); }); process.on("message", () => process.send({ spans }));`,
  ],
  { execPath: process.execPath, execArgv: [] },
);
const port = await new Promise<number>((resolve) =>
  sink.once("message", (m: { port: number }) => resolve(m.port)),
);
// BENCH_TRACING: another module exporting createTracing (an earlier version, to compare); "off": no spans.
const which = process.env.BENCH_TRACING ?? "../src/telemetry/tracing.ts";
const tracing: DeliveryTracing | undefined =
  which === "off"
    ? undefined
    : await (await import(which)).createTracing(
        tracingSettings({ otlp: { endpoint: `http://127.0.0.1:${port}` } }, {}),
        {
          log: pino({ level: "warn" }),
          redact: (t: string) => t,
          version: "bench",
        },
      );
const events = createEventFactory({ seed: 1 }).many(1000);
const delivered = { status: "delivered", durationMs: 1 } as const;
const detail = { status: 200, exhausted: false, interrupted: false };

async function round(count: number) {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const event = events[i % events.length]!;
    if (tracing) {
      const intake = tracing.intake(event, "stream", undefined);
      intake.end("stored");
      for (const action of ["a1", "a2", "a3"]) {
        const span = tracing.attempt(event, intake.trace, { action, plugin: "./noop.mjs", number: 1 });
        span.end(delivered, detail);
      }
    }
    // 50 events at a time, then wait for the rate; the exporter's timers and I/O run meanwhile.
    if (i % 50 === 49) {
      const due = started + ((i + 1) / RATE) * 1000;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
  }
}

await round(5_000); // warm-up
const start = { main: main(), all: all(), at: performance.now() };
await round(N);
const made = { main: main() - start.main, all: all() - start.all, ms: performance.now() - start.at };
await tracing?.shutdown(30_000);
const done = { main: main() - start.main, all: all() - start.all };
sink.send("count");
const received = await new Promise<number>((resolve) =>
  sink.once("message", (m: { spans: number }) => resolve(m.spans)),
);
sink.kill();
console.log(
  `${which}: ${N} events (${N * 4} spans) at ${RATE}/s: main thread ${(made.main / N).toFixed(1)} µs per event while making them (${(done.main / N).toFixed(1)} µs with the final flush), all threads ${(done.all / N).toFixed(1)} µs; ${Math.round(made.ms)} ms; the sink got ${received} spans`,
);
