// The machinery the host benchmarks share (e2e.bench.ts, replicas.bench.ts): the peer process (fake tenant and
// receiver), configs of HTTP actions, the built host as a child process, and the raw-POST and throughput runs.
import { type ChildProcess, fork, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";

const HOST = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const PEER = fileURLToPath(new URL("./peer.ts", import.meta.url));

export type Ready = { tenant: string; clientId: string; clientSecret: string; receiver: string };
export type Stats = {
  received: number;
  first: number;
  last: number;
  /** When the event of the last `appendMarked` first arrived (0: not yet). */
  markerAt: number;
  latencies?: number[];
};

export interface Peer {
  child: ChildProcess;
  ready: Ready;
  call: (cmd: string, args?: object) => Promise<unknown>;
  stats: () => Promise<Stats>;
}

/** Every child started here, killed when this process exits (a failed benchmark leaves no hosts running). */
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

export function startPeer(): Promise<Peer> {
  const child = fork(PEER, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.add(child);
  let next = 0;
  const pending = new Map<number, (value: unknown) => void>();
  return new Promise((resolve) => {
    child.on("message", (message: { ready?: Ready; id?: number; value?: unknown }) => {
      if (message.ready) {
        const call: Peer["call"] = (cmd, args = {}) =>
          new Promise((done) => {
            const id = ++next;
            pending.set(id, done);
            child.send({ id, cmd, ...args });
          });
        resolve({ child, ready: message.ready, call, stats: () => call("stats") as Promise<Stats> });
      } else if (message.id !== undefined) {
        pending.get(message.id)?.(message.value);
        pending.delete(message.id);
      }
    });
  });
}

/**
 * The YAML of HTTP actions posting to these paths of the receiver, every event to each; `action` is a line
 * added to each (e.g. `orderBy: none`).
 */
export function httpActions(ready: Ready, paths: string[], action = ""): string {
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
    events: ["*"]${concurrency}${action ? `\n    ${action}` : ""}
    with: { url: "${ready.receiver}${path}"${connections} }`,
    )
    .join("\n");
}

export interface ConfigOptions {
  /** Lines added at the top level (e.g. `delivery:`). */
  extra?: string;
  /** The `auth0` source's tail; default: read from the start of the tenant's log. Empty: from its latest event. */
  from?: string;
  /** `state:`; default a SQLite folder beside the config. */
  state?: string;
}

export function writeConfig(dir: string, ready: Ready, actions: string, options: ConfigOptions = {}): string {
  const { extra = "", from = ', fromTimestamp: "2000-01-01T00:00:00Z"', state = "./state" } = options;
  const file = join(dir, "switchyard.yaml");
  writeFileSync(
    file,
    `source:
  auth0: { domain: "${ready.tenant}", clientId: "${ready.clientId}", clientSecret: "${ready.clientSecret}"${from} }
state: ${JSON.stringify(state)}
server: { enabled: false }
log: { level: warn }
${extra}
actions:
${actions}
`,
  );
  return file;
}

export function startHost(config: string): ChildProcess {
  // BENCH_PROFILE=dir writes a V8 CPU profile of each host run there (open it in Chrome DevTools).
  const profile = process.env.BENCH_PROFILE
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
    : [];
  // BENCH_HOST_FLAGS="--max-semi-space-size=32" passes Node/V8 flags to the host process alone.
  const flags = process.env.BENCH_HOST_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...profile, ...flags, HOST, "start", "--config", config], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.add(child);
  return child;
}

export async function until(
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 200,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return false;
}

export async function stopHost(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(process.env.BENCH_PROFILE ? "SIGTERM" : "SIGKILL");
  await exited;
}

/** CPU seconds used so far by a process (all threads) and by its main thread, from /proc (Linux). */
export function cpuSeconds(pid: number): { total: number; main: number; threads: Map<string, number> } {
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

export function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** CPU per request of the last raw run's client (µs): the floor under the host's own per-delivery cost. */
export const rawClient = { cpuPerRequest: 0 };

/** Raw POST limit: undici Pool straight into the same receiver, 32 connections, 128 in flight. */
export async function rawPosts(peer: Peer, count: number): Promise<number> {
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
  rawClient.cpuPerRequest = (used.user + used.system) / count;
  await pool.close();
  return count / seconds;
}

/**
 * One host reads the tenant's first `events` events (appended before) and delivers each to `actions` HTTP
 * actions; returns events per second, first to last delivery. `state` is the config's (default SQLite);
 * `extra` adds top-level config lines.
 */
export async function throughput(
  peer: Peer,
  actions: number,
  events: number,
  { state, extra, action }: { state?: string; extra?: string; action?: string } = {},
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  await peer.call("reset");
  const paths = Array.from({ length: actions }, (_, i) => `/a${i + 1}`);
  const config = writeConfig(dir, peer.ready, httpActions(peer.ready, paths, action), {
    ...(state ? { state } : {}),
    ...(extra ? { extra } : {}),
  });
  const host = startHost(config);
  const total = events * actions;
  const done = await until(async () => (await peer.stats()).received >= total, 600_000);
  const s = await peer.stats();
  const cpu = cpuSeconds(host.pid!);
  const rss = peakRss(host.pid!);
  await stopHost(host);
  rmSync(dir, { recursive: true, force: true });
  if (!done) throw new Error(`only ${s.received} of ${total} deliveries arrived`);
  const perDelivery = (seconds: number) => Math.round((seconds * 1e6) / total);
  console.log(
    `  ${actions} action(s)${state ? ` on ${state.startsWith("postgres") ? "Postgres" : state}` : ""}${extra ? ` (${extra.replace(/\s+/g, " ").trim()})` : ""}${action ? ` (each action: ${action})` : ""}: host CPU per delivery ${perDelivery(cpu.total)} µs, of which its main thread ${perDelivery(cpu.main)} µs (startup included); peak RSS ${rss.toFixed(0)} MB`,
  );
  const others = [...cpu.threads.values()].sort((a, b) => b - a).filter((seconds) => seconds >= 0.01);
  console.log(
    `    its other threads, busiest first: ${others.map((s) => `${perDelivery(s)} µs`).join(", ")}`,
  );
  return events / ((s.last - s.first) / 1000);
}

/**
 * CPU seconds used so far by the local PostgreSQL server's processes (from /proc; 0 when it runs elsewhere).
 * Other clients of the same server count too: on a shared machine, read it beside the baseline's.
 */
export function postgresCpu(): number {
  let seconds = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (!stat.includes(" (postgres) ")) continue;
      const fields = stat.split(") ")[1]!.split(" ");
      seconds += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // The process ended meanwhile.
    }
  }
  return seconds;
}
