#!/usr/bin/env node
// `node scripts/pack-install.mjs`: prove the published packages work outside the workspace.
// Builds every public package, packs each with pnpm (which turns `workspace:^` into real versions), installs
// the host from those tarballs into an empty npm project (npm takes every @switchyard/* package from the
// tarballs, never from the registry), then, there: each package's main entry imports, one delivery per
// plugin against a local server, `switchyard --help`, `switchyard start --demo` until a delivery (and its
// ops server serving the console; then SIGTERM, a clean exit), and `switchyard run-action` on an Auth0
// action file; and each plugin the host does not bundle (the brokers) installed alone into an empty project of
// its own, delivering one event to the real local broker (scripts/broker-smoke.mjs).
// Not part of the vitest suite: it needs the npm registry for third-party dependencies, and better-sqlite3
// compiles from source in the empty project (about 80 s).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const step = (text) => console.log(`[pack-install] ${elapsed().padStart(7)}  ${text}`);

const readPackage = (dir) => JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
/** Every public workspace package, by folder. */
const publicDirs = ["packages", "plugins", "apps"]
  .flatMap((group) => readdirSync(join(root, group)).map((name) => `${group}/${name}`))
  .filter((dir) => existsSync(join(root, dir, "package.json")) && !readPackage(dir).private);
const hostDependencies = Object.keys(readPackage("apps/host").dependencies ?? {});
const pluginDirs = publicDirs.filter((dir) => dir.startsWith("plugins/"));
/** Plugins the host depends on: checked inside the host's project. */
const bundledDirs = pluginDirs.filter((dir) => hostDependencies.includes(readPackage(dir).name));
/** Plugins users install beside the host (the brokers): each installed alone into an empty project of its own. */
const aloneDirs = pluginDirs.filter((dir) => !bundledDirs.includes(dir));
const aloneNames = new Set(aloneDirs.map((dir) => readPackage(dir).name));
/** The plugins whose smoke test is scripts/broker-smoke.mjs (one event to the real local broker). */
const BROKERS = new Set([
  "@switchyard/plugin-rabbitmq",
  "@switchyard/plugin-nats",
  "@switchyard/plugin-redis",
]);

const run = (command, args, cwd) => execFileSync(command, args, { cwd, encoding: "utf8", stdio: "pipe" });
const work = mkdtempSync(join(tmpdir(), "switchyard-pack-"));
const tarballs = join(work, "tarballs");
const project = join(work, "project");
/** Package name to its tarball. */
const packed = new Map();
let failed = false;
/** A check that ran: PASS or FAIL with its output; a failure fails the script but the other checks still run. */
const report = (name, ok, detail, ms) => {
  if (!ok) failed = true;
  console.log(
    `${ok ? "PASS" : "FAIL"} ${name}: ${String(detail).trim()}${ms === undefined ? "" : ` (${ms} ms)`}`,
  );
};

try {
  step(`build ${publicDirs.join(", ")}`);
  run(
    "pnpm",
    [
      "exec",
      "turbo",
      "run",
      "build",
      "--output-logs=errors-only",
      "--filter=./packages/*",
      "--filter=./plugins/*",
      "--filter=./apps/*",
    ],
    root,
  );

  for (const dir of publicDirs) {
    const info = JSON.parse(run("pnpm", ["pack", "--json", "--pack-destination", tarballs], join(root, dir)));
    const tarball = join(tarballs, basename(info.filename));
    checkTarball(dir, info, tarball);
    packed.set(info.name, tarball);
    step(`packed ${info.name}@${info.version} (${info.files.length} files)`);
  }

  // The host is the one dependency; the overrides make npm take every @switchyard/* package it pulls in from
  // the tarballs (an override of a direct dependency must repeat its spec, hence the host's own line).
  const spec = (name) => `file:${packed.get(name)}`;
  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({
      name: "smoke",
      private: true,
      dependencies: { "@switchyard/host": spec("@switchyard/host") },
      overrides: Object.fromEntries(hostPackages().map((name) => [name, spec(name)])),
    }),
  );
  step("npm install @switchyard/host from its tarball into an empty project (better-sqlite3 compiles)");
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], project);
  checkLockfile();

  writeFileSync(join(project, "import.mjs"), 'await import(process.argv[2]); console.log("imports");\n');
  for (const name of hostPackages()) {
    const result = spawnSync(process.execPath, ["import.mjs", name], { cwd: project, encoding: "utf8" });
    report(`import ${name}`, result.status === 0, result.stdout + result.stderr);
  }

  writeFileSync(join(project, "smoke.mjs"), smokeScript());
  for (const dir of bundledDirs) {
    const name = readPackage(dir).name;
    const t0 = performance.now();
    const result = spawnSync(process.execPath, ["smoke.mjs", name], { cwd: project, encoding: "utf8" });
    report(name, result.status === 0, result.stdout + result.stderr, Math.round(performance.now() - t0));
  }
  for (const dir of aloneDirs) checkAlone(readPackage(dir).name);

  await checkHelp();
  await checkDemo();
  await checkRunAction();
  checkStackTrace();
  await checkPluginFromTarballs();
} catch (error) {
  failed = true;
  const output = [error.stdout, error.stderr].filter(Boolean).join("\n").trim();
  console.log(`FAIL ${error.message.split("\n")[0]}${output ? `\n${output}` : ""}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
step(failed ? "failed" : "all passed");
process.exit(failed ? 1 : 0);

/** Every packed package but the plugins installed alone: what the host's project holds. */
function hostPackages() {
  return [...packed.keys()].filter((name) => !aloneNames.has(name));
}

/** Only what the package declares in `files`, every entry point present, no tests, no `workspace:` ranges. */
function checkTarball(dir, info, tarball) {
  const files = info.files.map((file) => file.path);
  const manifest = readPackage(dir);
  const allowed = new RegExp(
    `^((${manifest.files.map((entry) => entry.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})(/|$)|package\\.json$|LICENSE)`,
  );
  const stray = files.filter((file) => !allowed.test(file));
  // The plugin template's own test is a template file, not one of the package's tests.
  const tests = files.filter((file) => /\.test\.(js|d\.ts|ts)$/.test(file) && !file.startsWith("templates/"));
  if (stray.length || tests.length) throw new Error(`${info.name}: unexpected files ${[...stray, ...tests]}`);
  const entries = [
    ...Object.values(manifest.exports ?? {}).flatMap((conditions) => [conditions.types, conditions.default]),
    ...Object.values(manifest.bin ?? {}),
  ].map((path) => path.replace(/^\.\//, ""));
  const absent = entries.filter((path) => !files.includes(path));
  if (absent.length) throw new Error(`${info.name}: the tarball lacks its entry points ${absent}`);
  if (!files.includes("README.md")) step(`warning: ${info.name} ships no README.md`);
  const packedManifest = run("tar", ["-xOzf", tarball, "package/package.json"], root);
  if (packedManifest.includes("workspace:")) throw new Error(`${info.name}: a workspace: range was packed`);
}

/** Every @switchyard/* package npm installed came from a tarball, once. */
function checkLockfile() {
  const lock = JSON.parse(readFileSync(join(project, "package-lock.json"), "utf8"));
  const installed = Object.entries(lock.packages).filter(([path]) =>
    /node_modules\/@switchyard\//.test(path),
  );
  const fromElsewhere = installed.filter(([, entry]) => !String(entry.resolved).startsWith("file:"));
  const nested = installed.filter(([path]) => path.split("node_modules/").length > 2);
  const names = installed.map(([path]) => path.replace(/^.*node_modules\//, ""));
  report(
    "npm install",
    fromElsewhere.length === 0 && nested.length === 0 && names.length === hostPackages().length,
    fromElsewhere.length || nested.length
      ? `not from the tarballs, or twice: ${[...fromElsewhere, ...nested].map(([path]) => path)}`
      : `@switchyard/host and its ${names.length - 1} @switchyard dependencies, all from the tarballs`,
  );
}

/**
 * Run `npx switchyard …` in the project; resolves with its output once it exits. npx runs the bin through npm
 * and a shell, which do not pass a SIGTERM on, so it runs in its own process group: `stop()` signals the
 * switchyard process itself (the group's innermost process), and a time-out kills the whole group.
 */
function switchyard(args, { timeoutMs = 30_000, env = {}, onLine } = {}) {
  // `--no`: the bin installed in the project, never one fetched from the registry; `--`: the rest is its own.
  const child = spawn("npx", ["--no", "--", "switchyard", ...args], {
    cwd: project,
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const stop = (signal) => process.kill(innermost(child.pid), signal);
  let stdout = "";
  let stderr = "";
  let pending = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop();
    for (const line of lines) onLine?.(line, { stop, stderr: () => stderr });
  });
  child.stderr.on("data", (chunk) => (stderr += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, timeoutMs);
  return new Promise((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      killGroup(child.pid);
      resolve({ code, signal, stdout, stderr, timedOut });
    }),
  );
}

function killGroup(pgid) {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // the group is gone already
  }
}

/** The last process in the chain of children that starts at `pid` (Linux: reads /proc). */
function innermost(pid) {
  const parents = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // exited while we looked
    }
  }
  let current = pid;
  for (;;) {
    const next = [...parents].find(([, ppid]) => ppid === current)?.[0];
    if (next === undefined) return current;
    current = next;
  }
}

async function checkHelp() {
  const t0 = performance.now();
  const result = await switchyard(["--help"]);
  const ok = result.code === 0 && /start/.test(result.stdout) && /run-action/.test(result.stdout);
  report("switchyard --help", ok, ok ? "lists start and run-action" : result.stdout + result.stderr, ms(t0));
}

async function checkDemo() {
  const t0 = performance.now();
  let delivered;
  let terminatedAt;
  let served;
  // The console action prints one line per event it got: `<time>  <type>  <subject>  evt_…`.
  const delivery = /^\d{4}-\d\d-\d\dT\S+\s+[a-z.]+\s+.*\bevt_\w+/;
  const result = await switchyard(["start", "--demo"], {
    timeoutMs: 60_000,
    env: { SWITCHYARD_DEMO_PORT: "0", SWITCHYARD_DEMO_RATE: "5" },
    async onLine(line, { stop, stderr }) {
      if (delivered || !delivery.test(line)) return;
      delivered = line.trim();
      served = await fetchConsole(stderr());
      terminatedAt = performance.now();
      stop("SIGTERM");
    },
  });
  report("console served by the installed host", served?.ok === true, served?.detail ?? "no delivery");
  // The banner names what works here: the command as npx runs it, and the demo's action where npm put it.
  const welcome = /an unchanged Auth0 Event Stream Action \(([^)]+)\)/.exec(result.stderr)?.[1];
  const bannerOk =
    result.stderr.includes("`npx switchyard dlq list --demo`") &&
    welcome !== undefined &&
    existsSync(join(project, welcome));
  report(
    "the demo's banner",
    bannerOk,
    bannerOk ? `says \`npx switchyard dlq list --demo\`, names ${welcome}` : result.stderr.slice(0, 1500),
  );
  const stopMs = terminatedAt === undefined ? undefined : Math.round(performance.now() - terminatedAt);
  const ok = delivered !== undefined && result.code === 0 && !result.timedOut;
  report(
    "switchyard start --demo",
    ok,
    ok
      ? `delivered "${delivered.replace(/\s+/g, " ")}", exited 0 ${stopMs} ms after SIGTERM`
      : `${delivered ? "delivered, then" : "no delivery;"} exit ${result.code ?? result.signal}${result.timedOut ? " (timed out)" : ""}\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`,
    ms(t0),
  );
}

/** The console's page and script from the demo's ops server (its address is in the demo's banner). */
async function fetchConsole(banner) {
  const base = /Metrics: curl (http:\/\/\S+)\/metrics/.exec(banner)?.[1];
  if (base === undefined) return { ok: false, detail: `no ops server address in:\n${banner.slice(-1000)}` };
  try {
    const page = await fetch(`${base}/`);
    const html = await page.text();
    const script = /<script type="module" src="([^"]+)"/.exec(html)?.[1];
    if (page.status !== 200 || script === undefined)
      return { ok: false, detail: `GET /: ${page.status} ${html}` };
    const js = await fetch(`${base}/${script}`);
    const size = (await js.arrayBuffer()).byteLength;
    const type = js.headers.get("content-type");
    return js.status === 200 && type?.startsWith("text/javascript")
      ? { ok: true, detail: `GET / and ${script} (${size} bytes)` }
      : { ok: false, detail: `GET ${script}: ${js.status} ${type}` };
  } catch (error) {
    return { ok: false, detail: `${base}: ${error.message}` };
  }
}

/**
 * A stack trace through the installed packages, with source maps on (as tsx turns them on when a TypeScript
 * action loads), names files that exist: the maps point at `src/*.ts`, which the packages ship.
 */
function checkStackTrace() {
  writeFileSync(join(project, "bad.yaml"), "source: {}\nactions: []\n");
  writeFileSync(
    join(project, "trace.mjs"),
    'import { loadConfig } from "@switchyard/host";\nawait loadConfig("bad.yaml").catch((error) => console.log(error.stack));\n',
  );
  const result = spawnSync(process.execPath, ["--enable-source-maps", "trace.mjs"], {
    cwd: project,
    encoding: "utf8",
  });
  const frames = [...result.stdout.matchAll(/(?:\(|at )(?:file:\/\/)?(\/[^():\s]+):\d+:\d+/g)].map(
    (m) => m[1],
  );
  const ours = frames.filter((file) => file.includes("/node_modules/@switchyard/"));
  const missing = ours.filter((file) => !existsSync(file));
  const mapped = ours.some((file) => file.endsWith(".ts"));
  report(
    "stack trace through @switchyard/host",
    ours.length > 0 && mapped && missing.length === 0,
    missing.length
      ? `names files that are not installed: ${missing.join(", ")}`
      : `${ours.length} frames in @switchyard packages, mapped to their shipped sources (${ours[0]?.replace(/^.*node_modules\//, "")})\n${ours.length ? "" : result.stdout + result.stderr}`,
  );
}

/**
 * A new user's plugin before the packages are on the registry: `switchyard new plugin --switchyard-from` the
 * tarballs, then `npm install && npm test` in it as its next steps say (third-party packages from the
 * registry; better-sqlite3 compiles again for the host it uses as a devDependency).
 */
async function checkPluginFromTarballs() {
  const t0 = performance.now();
  const made = await switchyard(["new", "plugin", "acme", "--switchyard-from", tarballs]);
  const dir = join(project, "switchyard-plugin-acme");
  if (made.code !== 0) {
    report("new plugin --switchyard-from the tarballs", false, made.stdout + made.stderr);
    return;
  }
  const npm = (args) => spawnSync("npm", args, { cwd: dir, encoding: "utf8" });
  const install = npm(["install", "--no-audit", "--no-fund", "--loglevel=error"]);
  const test = install.status === 0 ? npm(["test"]) : install;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: vitest colours its summary.
  const passed = /Tests\s+(\d+) passed/.exec(test.stdout.replace(/\x1b\[[0-9;]*m/g, ""))?.[1];
  report(
    "new plugin --switchyard-from the tarballs: npm install && npm test",
    install.status === 0 && test.status === 0,
    test.status === 0 ? `${passed ?? "?"} tests passed` : (test.stdout + test.stderr).slice(-3000),
    ms(t0),
  );
}

async function checkRunAction() {
  const t0 = performance.now();
  // An Auth0 Event Stream Action as written for Auth0: CommonJS, `exports.onExecuteEventStream`.
  writeFileSync(
    join(project, "action.js"),
    [
      "exports.onExecuteEventStream = async (event, api) => {",
      '  api.log.info("welcome " + event.message.data.object.email);',
      '  console.log("token " + event.secrets.API_TOKEN + " for " + event.message.type);',
      "};",
      "",
    ].join("\n"),
  );
  const token = "tok_pack_install_9f8e7d";
  const result = await switchyard([
    "run-action",
    "./action.js",
    "--event",
    "user.created",
    "--secret",
    `API_TOKEN=${token}`,
    "--json",
  ]);
  let outcome;
  try {
    outcome = JSON.parse(result.stdout);
  } catch {
    outcome = undefined;
  }
  const ok =
    result.code === 0 &&
    outcome?.status === "delivered" &&
    outcome.event?.type === "user.created" &&
    /^welcome \S+@/.test(outcome.logs?.[0]?.message ?? "") &&
    outcome.console?.[0]?.message === "token [redacted] for user.created" &&
    !result.stdout.includes(token);
  report(
    "switchyard run-action ./action.js",
    ok,
    ok ? `delivered ${outcome.event.id}, one log line, the secret redacted` : result.stdout + result.stderr,
    ms(t0),
  );
}

function ms(t0) {
  return Math.round(performance.now() - t0);
}

/**
 * A plugin the host does not depend on, as a user installs it: alone from its tarball (with the packed
 * @switchyard/testing, for the fakes) into an empty npm project, then one event through it: to the real
 * local broker (scripts/broker-smoke.mjs), or to the fakes and databases of aloneScript.
 */
function checkAlone(name) {
  const t0 = performance.now();
  const dir = join(work, `alone-${basename(name)}`);
  mkdirSync(dir);
  const spec = (pkg) => `file:${packed.get(pkg)}`;
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({
      name: "alone",
      private: true,
      type: "module",
      dependencies: { [name]: spec(name), "@switchyard/testing": spec("@switchyard/testing") },
      overrides: Object.fromEntries([...packed.keys()].map((pkg) => [pkg, spec(pkg)])),
    }),
  );
  try {
    run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], dir);
  } catch (error) {
    report(`${name} installs alone`, false, `${error.stdout ?? ""}${error.stderr ?? error.message}`);
    return;
  }
  writeFileSync(
    join(dir, "alone.mjs"),
    BROKERS.has(name) ? readFileSync(join(root, "scripts/broker-smoke.mjs")) : aloneScript(),
  );
  const result = spawnSync(process.execPath, ["alone.mjs", name], { cwd: dir, encoding: "utf8" });
  report(
    `${name} alone`,
    result.status === 0,
    result.stdout + result.stderr,
    Math.round(performance.now() - t0),
  );
}

/**
 * The smoke test of a plugin installed alone: the AWS plugins deliver to the fakes of the packed
 * @switchyard/testing (SigV4 checked there), the SQL plugin to the real PostgreSQL and MariaDB of this machine.
 */
function aloneScript() {
  return `
import { randomBytes } from "node:crypto";
import { events, runAction, startFakeEventBridge, startFakeSqs } from "@switchyard/testing";

const name = process.argv[2];
const plugin = (await import(name)).default;
const event = events.userCreated();
const userId = event.data.object.user_id;
const checks = [];

async function deliver(options) {
  const action = plugin(options);
  try {
    const result = await runAction(action, event);
    if (result.status !== "delivered") throw new Error(result.status + ": " + result.message);
  } finally {
    await action.close?.();
  }
}

if (name === "@switchyard/plugin-eventbridge") {
  const fake = await startFakeEventBridge({ buses: ["identity"] });
  try {
    await deliver({ eventBusName: "identity", endpoint: fake.endpoint, region: fake.region, credentials: fake.credentials });
    const [put] = fake.events("identity");
    if (put?.detail?.id !== event.id || put.detailType !== event.type || fake.unsigned.length > 0) throw new Error("not on the bus");
    checks.push("PutEvents to the fake EventBridge, signed");
  } finally {
    await fake.close();
  }
} else if (name === "@switchyard/plugin-sqs") {
  const fake = await startFakeSqs();
  try {
    await deliver({ queueUrl: fake.queueUrl("smoke.fifo"), endpoint: fake.endpoint, region: fake.region, credentials: fake.credentials });
    const [message] = fake.messages("smoke.fifo");
    if (JSON.parse(message?.body ?? "{}").id !== event.id || message.groupId !== userId) throw new Error("not in the queue");
    checks.push("SendMessageBatch to the fake FIFO SQS, grouped by user");
  } finally {
    await fake.close();
  }
} else if (name === "@switchyard/plugin-sql") {
  const pg = (await import("pg")).default;
  const mysql = await import("mysql2/promise");
  const table = "smoke_" + randomBytes(4).toString("hex");
  const drops = ["", "_applied"].map((suffix) => "DROP TABLE IF EXISTS " + table + suffix);
  const postgres = process.env.SWITCHYARD_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  await deliver({ url: postgres, table });
  const client = new pg.Client({ connectionString: postgres });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT event_id FROM " + table + " WHERE user_id = $1", [userId]);
    if (rows[0]?.event_id !== event.id) throw new Error("no row in PostgreSQL");
    checks.push("a row in PostgreSQL");
  } finally {
    for (const drop of drops) await client.query(drop);
    await client.end();
  }
  const mariadb = process.env.SWITCHYARD_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
  await deliver({ url: mariadb, table });
  const connection = await mysql.createConnection(mariadb);
  try {
    const [rows] = await connection.query("SELECT event_id FROM " + table + " WHERE user_id = ?", [userId]);
    if (rows[0]?.event_id !== event.id) throw new Error("no row in MariaDB");
    checks.push("a row in MariaDB");
  } finally {
    for (const drop of drops) await connection.query(drop);
    await connection.end();
  }
} else {
  throw new Error("no smoke test for " + name);
}
console.log("delivered " + event.type + ": " + checks.join(", "));
`;
}

/** The smoke test run inside the empty project: it imports only what npm installed there. */
function smokeScript() {
  return `
import { createServer } from "node:http";
import { createActionCache } from "@switchyard/core";

const name = process.argv[2];
const plugin = (await import(name)).default;
const event = {
  specversion: "1.0",
  type: "user.created",
  source: "urn:auth0:acme.us.auth0.com",
  id: "evt_4f8Kq2Zt9LmX0aB3cD5eF7",
  time: new Date().toISOString(),
  data: {
    object: {
      user_id: "auth0|65f0c1d2e3a4b5c6d7e8f901",
      email: "ada@example.com",
      email_verified: false,
      name: "Ada Lovelace",
      created_at: "2026-11-01T00:00:00.000Z",
      updated_at: "2026-11-01T00:00:00.000Z",
      identities: [{ connection: "Username-Password-Authentication", provider: "auth0", user_id: "65f0c1d2e3a4b5c6d7e8f901", isSocial: false }],
    },
    context: { tenant: { tenant_id: "acme" }, request: { ip: "203.0.113.7", user_agent: "smoke" } },
  },
  a0tenant: "acme",
  a0stream: "est_9hJk2LmN4pQr6StU8vWx0Y",
};

// How to point each plugin at the local server, what to answer, and how to tell the event arrived.
const plugins = {
  "@switchyard/plugin-http": {
    options: (base) => ({ url: base + "/hook", secret: "whsec_c21va2Utc2VjcmV0LWZvci1wYWNrLWluc3RhbGw=" }),
    reply: () => ({}),
    arrived: (r) => r.path === "/hook" && r.body.includes(event.id) && r.headers["webhook-signature"],
  },
  "@switchyard/plugin-slack": {
    options: (base) => ({ token: "xoxb-smoke", channel: "#smoke", apiUrl: base + "/api/" }),
    reply: () => ({ ok: true, channel: "C0SMOKE", ts: "1700000000.000100" }),
    arrived: (r) => r.path.includes("chat.postMessage"),
  },
  "@switchyard/plugin-segment": {
    options: (base) => ({ writeKey: "wk_smoke", host: base, flushAt: 1 }),
    reply: () => ({ success: true }),
    arrived: (r) => r.body.includes(event.id),
  },
};
const spec = plugins[name] ?? { options: (base) => ({ url: base + "/" }), reply: () => ({}), arrived: () => true };

const received = [];
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    received.push({ path: req.url, headers: req.headers, body });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(spec.reply()));
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const action = plugin(spec.options("http://127.0.0.1:" + server.address().port));
const noop = () => {};
try {
  await action.onExecuteEventStream(
    { message: event, secrets: {} },
    {
      cache: createActionCache(),
      log: { debug: noop, info: noop, warn: noop, error: noop },
      signal: AbortSignal.timeout(10_000),
      attempt: 1,
      action: { name: "smoke" },
    },
  );
} finally {
  await action.close?.();
  server.close();
}
if (!received.some(spec.arrived)) {
  console.log("the server got " + received.length + " request(s), none with the event");
  process.exit(1);
}
console.log("delivered " + event.type + " in " + received.length + " request(s)");
`;
}
