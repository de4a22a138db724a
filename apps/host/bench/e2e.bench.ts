// End-to-end benchmarks of the real host process (built dist): throughput with 1 and 3 actions against the
// raw-POST limit of the same receiver, the host's own CPU per delivery with actions that do nothing, latency
// at a steady 1,000 events/s, peak memory while a 1,000,000-event backlog drains into a slow receiver, and
// restart time with 100,000 pending deliveries.
import { type ChildProcess, fork, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { reportBench } from "../../../scripts/bench-report.ts";

const HOST = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const PEER = fileURLToPath(new URL("./peer.ts", import.meta.url));
const quick = process.env.BENCH_QUICK === "1";
/** BENCH_ONLY=throughput|overhead|latency|memory|restart runs one part; throughput3 is the 3-action run alone. */
const only = process.env.BENCH_ONLY;
const part = (name: string) => !only || only === name || (name === "throughput" && only === "throughput3");
const N = quick ? 20_000 : 100_000;

type Ready = { tenant: string; clientId: string; clientSecret: string; receiver: string };
type Stats = { received: number; first: number; last: number; latencies?: number[] };

function startPeer(): Promise<{
  child: ChildProcess;
  ready: Ready;
  call: (cmd: string, args?: object) => Promise<unknown>;
}> {
  const child = fork(PEER, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let next = 0;
  const pending = new Map<number, (value: unknown) => void>();
  return new Promise((resolve) => {
    child.on("message", (message: { ready?: Ready; id?: number; value?: unknown }) => {
      if (message.ready) {
        resolve({
          child,
          ready: message.ready,
          call: (cmd, args = {}) =>
            new Promise((done) => {
              const id = ++next;
              pending.set(id, done);
              child.send({ id, cmd, ...args });
            }),
        });
      } else if (message.id !== undefined) {
        pending.get(message.id)?.(message.value);
        pending.delete(message.id);
      }
    });
  });
}

/** The YAML of HTTP actions posting to these paths of the receiver, every event to each. */
function httpActions(ready: Ready, paths: string[]): string {
  // Each action runs at its defaults (concurrency 16, and 16 connections to the receiver), as a user's would.
  // BENCH_CONCURRENCY and BENCH_CONNECTIONS override them. A concurrency above the connections gains nothing:
  // the extra requests wait inside undici's pool, live objects that every young-generation GC copies
  // (measured: concurrency 64 over 16 connections spent ~30% more time in scavenges than 16).
  const concurrency = process.env.BENCH_CONCURRENCY
    ? `\n    concurrency: ${process.env.BENCH_CONCURRENCY}`
    : "";
  const connections = process.env.BENCH_CONNECTIONS ? `, connections: ${process.env.BENCH_CONNECTIONS}` : "";
  return paths
    .map(
      (path, i) => `  - name: a${i + 1}
    plugin: "@switchyard/plugin-http"
    events: ["*"]${concurrency}
    with: { url: "${ready.receiver}${path}"${connections} }`,
    )
    .join("\n");
}

function writeConfig(
  dir: string,
  ready: Ready,
  actions: string,
  extra = "",
  from = ', fromTimestamp: "2000-01-01T00:00:00Z"',
): string {
  const file = join(dir, "switchyard.yaml");
  writeFileSync(
    file,
    `source:
  auth0: { domain: "${ready.tenant}", clientId: "${ready.clientId}", clientSecret: "${ready.clientSecret}"${from} }
state: ./state
server: { enabled: false }
log: { level: warn }
${extra}
actions:
${actions}
`,
  );
  return file;
}

function startHost(config: string): ChildProcess {
  // BENCH_PROFILE=dir writes a V8 CPU profile of each host run there (open it in Chrome DevTools).
  const profile = process.env.BENCH_PROFILE
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
    : [];
  // BENCH_HOST_FLAGS="--max-semi-space-size=32" passes Node/V8 flags to the host process alone.
  const flags = process.env.BENCH_HOST_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
  return spawn(process.execPath, [...profile, ...flags, HOST, "start", "--config", config], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

async function stopHost(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(process.env.BENCH_PROFILE ? "SIGTERM" : "SIGKILL");
  await exited;
}

/** CPU seconds used so far by a process (all threads) and by its main thread, from /proc (Linux). */
function cpuSeconds(pid: number): { total: number; main: number; threads: Map<string, number> } {
  const ticks = (file: string) => {
    const fields = readFileSync(file, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
  };
  // The other threads (the store's, V8's GC helpers, libuv's pool), by thread id: Node names them all "node".
  const threads = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (tid !== String(pid)) threads.set(tid, ticks(`/proc/${pid}/task/${tid}/stat`));
  }
  return { total: ticks(`/proc/${pid}/stat`), main: ticks(`/proc/${pid}/task/${pid}/stat`), threads };
}

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

const peer = await startPeer();
const stats = () => peer.call("stats") as Promise<Stats>;

/** CPU per request of the last raw run's client (µs): the floor under the host's own per-delivery cost. */
let rawCpuPerRequest = 0;

// Raw POST limit: undici Pool straight into the same receiver, 32 connections, 128 in flight.
async function rawPosts(count: number): Promise<number> {
  await peer.call("reset");
  const pool = new Pool(peer.ready.receiver, { connections: 32, pipelining: 1 });
  const body = JSON.stringify({
    specversion: "1.0",
    type: "user.created",
    id: "evt_x",
    data: { object: { user_id: "auth0|1".repeat(40) } },
  }).padEnd(1400);
  let sent = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: 128 }, async () => {
      while (sent < count) {
        sent++;
        const res = await pool.request({
          path: "/raw",
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
        });
        await res.body.dump();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  rawCpuPerRequest = (used.user + used.system) / count;
  await pool.close();
  return count / seconds;
}

async function throughput(actions: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  await peer.call("reset");
  const paths = Array.from({ length: actions }, (_, i) => `/a${i + 1}`);
  const config = writeConfig(dir, peer.ready, httpActions(peer.ready, paths));
  const host = startHost(config);
  const total = N * actions;
  const done = await until(async () => (await stats()).received >= total, 600_000);
  const s = await stats();
  const cpu = cpuSeconds(host.pid!);
  const rss = peakRss(host.pid!);
  await stopHost(host);
  rmSync(dir, { recursive: true, force: true });
  if (!done) throw new Error(`only ${s.received} of ${total} deliveries arrived`);
  const perDelivery = (seconds: number) => Math.round((seconds * 1e6) / total);
  console.log(
    `  ${actions} action(s): host CPU per delivery ${perDelivery(cpu.total)} µs, of which its main thread ${perDelivery(cpu.main)} µs (startup included); peak RSS ${rss.toFixed(0)} MB`,
  );
  const others = [...cpu.threads.values()].sort((a, b) => b - a).filter((seconds) => seconds >= 0.01);
  console.log(
    `    its other threads, busiest first: ${others.map((s) => `${perDelivery(s)} µs`).join(", ")}`,
  );
  return N / ((s.last - s.first) / 1000);
}

await peer.call("appendMany", { count: N });
if (part("throughput")) {
  // This machine's speed drifts by ±20% within minutes, so the limit is measured right before and right
  // after each host run, and each ratio is taken against the mean of the two that bracket it.
  // The first run in a fresh process is slower while the client's code is compiled; a warm-up run keeps that
  // out of the limit (the first run measured up to a quarter below the next ones).
  const warmUp = await rawPosts(N / 5);
  const raws = [await rawPosts(N)];
  const one = only === "throughput3" ? Number.NaN : await throughput(1);
  if (only !== "throughput3") raws.push(await rawPosts(N));
  const limitOne = (raws[0]! + raws[1]!) / 2;
  // The 3-action run, the one with a target, is run three times (each between two raw runs) and reported
  // by its median ratio: a single run's ratio moved by ±0.04 from one minute to the next.
  const rounds: Array<{ deliveries: number; limit: number; ratio: number }> = [];
  for (let round = 0; round < (quick ? 1 : 3); round++) {
    const deliveries = (await throughput(3)) * 3;
    raws.push(await rawPosts(N));
    const limit = (raws.at(-2)! + raws.at(-1)!) / 2;
    rounds.push({ deliveries, limit, ratio: deliveries / limit });
  }
  const three = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(rounds.length / 2)]!;
  console.log(
    `raw undici POSTs into the receiver: ${raws.map((r) => Math.round(r)).join(", ")} requests/s (warm-up run: ${Math.round(warmUp)}); the raw client's CPU per request: ${Math.round(rawCpuPerRequest)} µs`,
  );
  if (!Number.isNaN(one)) console.log(`host, 1 action:  ${Math.round(one)} events/s`);
  console.log(
    `host, 3 actions: ${rounds.map((r) => `${Math.round(r.deliveries)} deliveries/s (${r.ratio.toFixed(2)}×)`).join(", ")}; median ${Math.round(three.deliveries / 3)} events/s = ${Math.round(three.deliveries)} deliveries/s`,
  );
  if (!Number.isNaN(one))
    reportBench({
      name: "host e2e, 1 action (events/s)",
      unit: "ev/s",
      value: one,
      baseline: { name: "raw POST req/s", value: limitOne },
      ratio: one / limitOne,
    });
  reportBench({
    name: `host e2e, 3 actions (deliveries/s${rounds.length > 1 ? `, median of ${rounds.length} runs` : ""})`,
    unit: "del/s",
    value: three.deliveries,
    baseline: { name: "raw POST req/s", value: three.limit },
    ratio: three.ratio,
    target: "≥ 15,000 del/s and ≥ 0.5×",
    pass: three.deliveries >= 15_000 && three.ratio >= 0.5,
  });
}

// The host's own cost per delivery: the 3-action run with actions that do nothing, so no HTTP. Steadier
// than any throughput figure on this machine (±0.2 µs back to back, though the machine's phase moves it
// more), so it is the figure to watch when changing the ingest path, the runners or the store. The action
// measures the host's CPU from /proc (Linux) between its first and last delivery: startup is left out.
const NOOP_PLUGIN = `import { readFileSync, renameSync, writeFileSync } from "node:fs";
const cpu = (file) => { const f = readFileSync(file, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) * 10_000; };
let seen = 0, start; // one count for the three actions, which share this module
export default function noop(options) {
  return {
    async onExecuteEventStream() {
      if (seen++ === 0) start = { at: performance.now(), main: cpu(\`/proc/self/task/\${process.pid}/stat\`), all: cpu("/proc/self/stat") };
      if (seen === options.total) {
        const us = (ticks) => ticks / seen;
        writeFileSync(options.out + ".tmp", JSON.stringify({ ms: performance.now() - start.at,
          main: us(cpu(\`/proc/self/task/\${process.pid}/stat\`) - start.main), all: us(cpu("/proc/self/stat") - start.all) }));
        renameSync(options.out + ".tmp", options.out);
      }
    },
  };
}
`;
if (part("overhead")) {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  await peer.call("reset");
  writeFileSync(join(dir, "noop.mjs"), NOOP_PLUGIN);
  const out = join(dir, "noop.json");
  const total = N * 3;
  const actions = [1, 2, 3]
    .map(
      (i) =>
        `  - name: a${i}\n    plugin: "./noop.mjs"\n    events: ["*"]\n    with: { total: ${total}, out: "${out}" }`,
    )
    .join("\n");
  const config = writeConfig(dir, peer.ready, actions);
  const host = startHost(config);
  const done = await until(async () => existsSync(out), 120_000);
  await stopHost(host);
  const result = done
    ? (JSON.parse(readFileSync(out, "utf8")) as { ms: number; main: number; all: number })
    : undefined;
  rmSync(dir, { recursive: true, force: true });
  if (!result) throw new Error("the no-op actions did not finish");
  console.log(
    `host overhead, 3 no-op actions: ${Math.round((total / result.ms) * 1000)} deliveries/s; CPU per delivery ${result.main.toFixed(1)} µs on the main thread, ${result.all.toFixed(1)} µs in all threads`,
  );
  reportBench({
    name: "host's own main-thread CPU per delivery (3 no-op actions)",
    unit: "µs",
    value: result.main,
  });
  reportBench({
    name: "host's own CPU per delivery, all threads (3 no-op actions)",
    unit: "µs",
    value: result.all,
  });
}

// Latency at a steady 1,000 events/s, from the event's time (stamped as the frame leaves) to the receiver.
if (part("latency")) {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  // No cursor and no fromTimestamp: the stream starts at the latest event, as a fresh host does.
  const config = writeConfig(dir, peer.ready, httpActions(peer.ready, ["/latency"]), "", "");
  const host = startHost(config);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await peer.call("reset");
  await peer.call("trickle", { rate: 1_000 });
  await new Promise((resolve) => setTimeout(resolve, quick ? 3_000 : 10_000));
  await peer.call("stopTrickle");
  await new Promise((resolve) => setTimeout(resolve, 500));
  const { latencies = [] } = (await peer.call("stats", { latencies: true })) as Stats;
  await stopHost(host);
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
  console.log(`latency at 1,000 ev/s over ${latencies.length} events: p50 ${pct(50)} ms, p99 ${pct(99)} ms`);
  reportBench({ name: "latency p50 at 1,000 ev/s", unit: "ms", value: pct(50) });
  reportBench({
    name: "latency p99 at 1,000 ev/s",
    unit: "ms",
    value: pct(99),
    target: "< 25 ms",
    pass: pct(99) < 25,
  });
}

// Peak RSS while a 1,000,000-event backlog drains into a slow receiver (50 ms per request). A second, fast
// action keeps the stream moving, so the whole backlog lands in the store as the slow action's queue.
const { default: Database } = await import("better-sqlite3");
if (part("memory")) {
  const backlog = quick ? 100_000 : 1_000_000;
  await peer.call("appendMany", { count: backlog - N });
  await peer.call("reset", { delayMs: 50 });
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  const config = writeConfig(dir, peer.ready, httpActions(peer.ready, ["/slow", "/fast"]));
  const host = startHost(config);
  const file = join(dir, "state", "switchyard.db");
  const started = Date.now();
  let peak = 0;
  let stored = 0;
  // Until the whole backlog is stored (or the host paused the stream), sampling memory as it goes.
  while (Date.now() - started < (quick ? 60_000 : 300_000)) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    peak = Math.max(peak, peakRss(host.pid!));
    try {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      stored = (db.prepare("SELECT max(id) AS n FROM events").get() as { n: number | null }).n ?? 0;
      db.close();
    } catch {}
    if (stored >= backlog) break;
  }
  peak = Math.max(peak, peakRss(host.pid!));
  const { received } = await stats();
  await stopHost(host);
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `backlog ${backlog}: ${stored} events stored in ${((Date.now() - started) / 1000).toFixed(0)} s, ${received} delivered, peak RSS ${peak.toFixed(0)} MB`,
  );
  reportBench({
    name: `peak RSS, ${backlog / 1000}k backlog, slow receiver`,
    unit: "MB",
    value: peak,
    target: "< 200 MB",
    pass: peak < 200 && stored >= backlog,
  });
}

// Restart: time from process start to the first delivery, with 100,000 deliveries pending in the store.
if (part("restart")) {
  const pending = quick ? 20_000 : 100_000;
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  const config = writeConfig(
    dir,
    { ...peer.ready, tenant: "http://127.0.0.1:9" },
    httpActions(peer.ready, ["/restart"]),
  );
  const { openSqliteStore } = await import("../src/store/sqlite.ts");
  const store = openSqliteStore(join(dir, "state", "switchyard.db"));
  const { createEventFactory } = await import("@switchyard/testing");
  const factory = createEventFactory({ seed: 5 });
  for (let i = 0; i < pending; i += 1_000) {
    const rows = factory.many(1_000).map((event) => ({
      event,
      payload: JSON.stringify(event),
      deliveries: [{ action: "a1", orderKey: null, claimed: false }],
    }));
    store.ingest(rows, undefined);
  }
  store.close();
  await peer.call("reset");
  const spawned = Date.now();
  const host = startHost(config);
  await until(async () => (await stats()).received > 0, 30_000);
  const { first } = await stats();
  await stopHost(host);
  rmSync(dir, { recursive: true, force: true });
  const ms = first - spawned;
  console.log(`restart with ${pending} pending: first delivery ${ms} ms after process start`);
  reportBench({
    name: `restart to first delivery, ${pending / 1000}k pending`,
    unit: "ms",
    value: ms,
    target: "< 1000 ms",
    pass: ms < 1000,
  });
}

await peer.call("exit");
process.exit(0);
