#!/usr/bin/env node
// `node scripts/pack-install.mjs [plugins/http …]`: prove the published packages work outside the workspace.
// Builds core and each plugin, packs them with pnpm (which turns `workspace:^` into real versions), installs
// the tarballs into an empty project with npm, then runs one delivery per plugin against a local server.
// Not part of the vitest suite: it needs the npm registry for third-party dependencies.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const step = (text) => console.log(`[pack-install] ${elapsed().padStart(7)}  ${text}`);

const requested = process.argv.slice(2);
const dirs = (requested.length ? requested : ["plugins/http", "plugins/slack", "plugins/segment"]).filter(
  (dir) => {
    const present =
      existsSync(join(root, dir, "package.json")) && existsSync(join(root, dir, "src", "index.ts"));
    if (!present) step(`skip ${dir}: not there yet`);
    return present;
  },
);
if (dirs.length === 0) {
  console.log("[pack-install] nothing to check");
  process.exit(0);
}

const readPackage = (dir) => JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
const workspaceDirs = new Map(
  ["packages/core", "packages/testing", "packages/auth0-events", ...dirs]
    .filter((dir) => existsSync(join(root, dir, "package.json")))
    .map((dir) => [readPackage(dir).name, dir]),
);
// Core plus each plugin plus any workspace package they depend on at run time.
const toPack = new Set(["packages/core", ...dirs]);
for (const dir of dirs) {
  for (const [name, range] of Object.entries(readPackage(dir).dependencies ?? {})) {
    if (String(range).startsWith("workspace:") && workspaceDirs.has(name))
      toPack.add(workspaceDirs.get(name));
  }
}

const run = (command, args, cwd) => execFileSync(command, args, { cwd, encoding: "utf8", stdio: "pipe" });
const work = mkdtempSync(join(tmpdir(), "switchyard-pack-"));
const tarballs = join(work, "tarballs");
const project = join(work, "project");
let failed = false;

try {
  const filters = [...toPack].flatMap((dir) => ["--filter", readPackage(dir).name]);
  step(`build ${[...toPack].join(", ")}`);
  run("pnpm", [...filters, "run", "build"], root);

  const packed = new Map();
  for (const dir of toPack) {
    const info = JSON.parse(run("pnpm", ["pack", "--json", "--pack-destination", tarballs], join(root, dir)));
    const files = info.files.map((file) => file.path);
    const stray = files.filter((file) => !/^(dist\/|README\.md$|package\.json$|LICENSE)/.test(file));
    const tests = files.filter((file) => /\.test\.(js|d\.ts)/.test(file));
    if (!files.includes("dist/index.js") || !files.includes("dist/index.d.ts")) {
      throw new Error(`${info.name}: the tarball has no dist/index.js or dist/index.d.ts`);
    }
    if (stray.length || tests.length)
      throw new Error(`${info.name}: unexpected files ${[...stray, ...tests]}`);
    if (!files.includes("README.md")) step(`warning: ${info.name} ships no README.md`);
    packed.set(info.name, info.filename);
    step(`packed ${info.name}@${info.version} (${files.length} files)`);
  }

  run("mkdir", ["-p", project]);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "smoke", private: true, type: "module" }),
  );
  step("npm install the tarballs into an empty project");
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...packed.values()], project);

  writeFileSync(join(project, "smoke.mjs"), smokeScript());
  for (const dir of dirs) {
    const name = readPackage(dir).name;
    const t0 = performance.now();
    const result = spawnSync(process.execPath, ["smoke.mjs", name], { cwd: project, encoding: "utf8" });
    const ms = Math.round(performance.now() - t0);
    if (result.status === 0) {
      console.log(`PASS ${name}: ${result.stdout.trim()} (${ms} ms)`);
    } else {
      failed = true;
      console.log(`FAIL ${name}: ${(result.stdout + result.stderr).trim()}`);
    }
  }
} catch (error) {
  failed = true;
  const output = [error.stdout, error.stderr].filter(Boolean).join("\n").trim();
  console.log(`FAIL ${error.message.split("\n")[0]}${output ? `\n${output}` : ""}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
step(failed ? "failed" : "all passed");
process.exit(failed ? 1 : 0);

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
