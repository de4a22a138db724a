// Roles and the audit log through the admin API: a viewer's token reads and changes nothing; every change
// made with an operator's token is in the audit log under that token's name.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory, waitFor } from "@switchyard/testing";
import { Ajv2020 } from "ajv/dist/2020.js";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ROUTES } from "../src/admin/routes.js";
import { AuditAnswer } from "../src/admin/schemas.js";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { memorySource } from "./memory-source.js";
import { RECORDER } from "./recorder.js";

const VIEWER = "viewer-token-0123456789abcdef";
const OPERATOR = "operator-token-0123456789abcdef";
const LEGACY = "legacy-admin-token-0123456789";
const TOKENS = [VIEWER, OPERATOR, LEGACY];

let dir: string;
let hosts: Host[] = [];
let run = 0;
const factory = createEventFactory({ seed: 25 });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-roles-"));
  run++;
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  hosts = [];
  rmSync(dir, { recursive: true, force: true });
});

let states = 0;
const config = (server: Record<string, unknown>): SwitchyardConfigInput => ({
  source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
  state: join(dir, `state-${++states}`),
  server: { port: 0, ...server },
  actions: [
    {
      name: "strict",
      plugin: RECORDER,
      events: ["*"],
      with: { id: `${run}:strict`, permanentTypes: ["group.created"] },
    },
  ],
});

const withRoles = {
  adminToken: LEGACY,
  adminTokens: [
    { name: "ann", token: VIEWER, role: "viewer" },
    { name: "bob", token: OPERATOR, role: "operator" },
  ],
};

async function start(server: Record<string, unknown> = withRoles) {
  const source = memorySource();
  const loaded = finishConfig(config(server), join(dir, "switchyard.yaml"), {});
  const logFile = join(dir, "host.log");
  const host = await startHost(loaded, {
    source,
    logDestination: pino.destination({ dest: logFile, sync: true }),
  });
  hosts.push(host);
  return { host, source, base: `http://127.0.0.1:${host.port}`, logFile };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function call(base: string, path: string, token?: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      ...(token ? bearer(token) : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  for (const token of TOKENS) expect(text).not.toContain(token);
  return { status: response.status, text, json: text ? (JSON.parse(text) as unknown) : undefined };
}

const deadTotal = async (base: string) =>
  ((await call(base, "/api/dead-letters", OPERATOR)).json as { total: number }).total;

/** A route's path with its parameters filled in. */
const concrete = (path: string, values: Record<string, string>) =>
  path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? "x"));

describe("admin API roles", () => {
  it("a viewer's token reads every route and is refused every change (403): nothing changes, nothing is logged", async () => {
    const { source, base } = await start();
    const group = factory.event("group.created");
    source.push(group);
    await waitFor(async () => (await deadTotal(base)) === 1);
    const values = { name: "strict", eventId: group.id };
    const gets = ROUTES.filter((r) => r.method === "GET");
    const posts = ROUTES.filter((r) => r.method === "POST");
    expect(posts.length).toBeGreaterThanOrEqual(4);
    for (const route of gets) {
      const answer = await call(base, concrete(route.path, values), VIEWER);
      expect(answer.status, `${route.path}: ${answer.text}`).toBe(200);
    }
    // Every change the table has, with a body that would change something for an operator.
    for (const route of posts) {
      expect(route.role, route.path).toBe("operator");
      const answer = await call(base, concrete(route.path, values), VIEWER, { all: true });
      expect(answer.status, `${route.path}: ${answer.text}`).toBe(403);
      expect(answer.json).toEqual({ error: expect.stringContaining('"ann" is a viewer') });
    }
    expect(await deadTotal(base)).toBe(1);
    const actions = (await call(base, "/api/actions", VIEWER)).json as { actions: Array<{ state: string }> };
    expect(actions.actions[0]!.state).toBe("running");
    expect((await call(base, "/api/audit", VIEWER)).json).toEqual({ items: [] });
    // A wrong token is refused outright, a missing one too.
    expect((await call(base, "/api/actions/strict/pause", "wrong-token-0123456789abc", {})).status).toBe(401);
    expect((await call(base, "/api/status")).status).toBe(401);
  });

  it("records every change made with an operator's token under that token's name, paged by cursor", async () => {
    const { source, base, logFile } = await start();
    const groups = Array.from({ length: 3 }, () => factory.event("group.created"));
    source.push(...groups);
    await waitFor(async () => (await deadTotal(base)) === 3);

    expect((await call(base, "/api/actions/strict/pause", OPERATOR, {})).status).toBe(200);
    expect((await call(base, "/api/actions/strict/resume", LEGACY, {})).status).toBe(200);
    const dry = await call(base, "/api/dead-letters/purge", OPERATOR, { all: true, dryRun: true });
    expect(dry.json).toEqual({ count: 3, dryRun: true });
    expect(
      (await call(base, "/api/dead-letters/replay", OPERATOR, { eventId: groups[0]!.id, action: "strict" }))
        .json,
    ).toEqual({ count: 1, dryRun: false });
    await waitFor(async () => (await deadTotal(base)) === 3);
    expect((await call(base, "/api/dead-letters/purge", LEGACY, { type: "group.*" })).json).toEqual({
      count: 3,
      dryRun: false,
    });

    const log = AuditAnswer.parse((await call(base, "/api/audit", VIEWER)).json);
    expect(log.next).toBeUndefined();
    expect(log.items.map((e) => [e.actor, e.operation])).toEqual([
      ["admin", "purge"],
      ["bob", "replay"],
      ["admin", "resume"],
      ["bob", "pause"],
    ]);
    const [purge, replay, resume, pause] = log.items;
    expect(purge).toMatchObject({ selection: { type: "group.*" }, result: { count: 3 } });
    expect(replay).toMatchObject({
      selection: { action: "strict", eventId: groups[0]!.id },
      result: { count: 1, refused: 0 },
    });
    expect(resume).toMatchObject({ selection: { action: "strict" }, result: { wasPaused: true } });
    expect(pause).toMatchObject({ selection: { action: "strict" }, result: { wasPaused: false } });
    expect(Date.parse(purge!.at)).toBeGreaterThanOrEqual(Date.parse(pause!.at));

    // Pages of one by cursor: the same entries, none twice.
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = AuditAnswer.parse(
        (await call(base, `/api/audit?limit=1${cursor ? `&cursor=${cursor}` : ""}`, VIEWER)).json,
      );
      seen.push(...page.items.map((e) => e.id));
      cursor = page.next;
    } while (cursor);
    expect(seen).toEqual(log.items.map((e) => e.id));
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await call(base, `/api/audit?since=${future}`, VIEWER)).json).toEqual({ items: [] });
    expect((await call(base, "/api/audit?cursor=abc", VIEWER)).status).toBe(400);

    // No token is ever written to the host's log.
    const written = readFileSync(logFile, "utf8");
    for (const token of TOKENS) expect(written).not.toContain(token);
  });

  it("whoami says whether a token is needed before any refusal, and whose token a request carries", async () => {
    const { base } = await start();
    expect((await call(base, "/api/whoami")).json).toEqual({ tokenRequired: true });
    expect((await call(base, "/api/whoami", "wrong-token-0123456789abc")).json).toEqual({
      tokenRequired: true,
    });
    expect((await call(base, "/api/whoami", VIEWER)).json).toEqual({
      tokenRequired: true,
      name: "ann",
      role: "viewer",
    });
    expect((await call(base, "/api/whoami", LEGACY)).json).toEqual({
      tokenRequired: true,
      name: "admin",
      role: "operator",
    });

    const open = await start({});
    expect((await call(open.base, "/api/whoami")).json).toEqual({
      tokenRequired: false,
      name: "loopback",
      role: "operator",
    });
    // Without tokens, the loopback console is an operator (as before roles) and its changes are recorded so.
    expect((await call(open.base, "/api/actions/strict/pause", undefined, {})).status).toBe(200);
    const log = AuditAnswer.parse((await call(open.base, "/api/audit")).json);
    expect(log.items.map((e) => [e.actor, e.operation])).toEqual([["loopback", "pause"]]);
  });

  it("documents each route's role in the OpenAPI document, which validates the new answers", async () => {
    const { base } = await start();
    const doc = (await call(base, "/api/openapi.json", VIEWER)).json as {
      paths: Record<
        string,
        Record<string, { "x-switchyard-role": string; responses: Record<string, unknown> }>
      >;
      components: { schemas: Record<string, object> };
    };
    for (const route of ROUTES) {
      const operation = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation!["x-switchyard-role"]).toBe(route.role);
      expect(Object.keys(operation!.responses).includes("403")).toBe(route.role === "operator");
    }
    const documented = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    expect(documented).toBe(ROUTES.length);

    const ajv = new Ajv2020({ strict: false });
    ajv.addFormat("date-time", true);
    ajv.addSchema({ $id: "api", components: doc.components });
    await call(base, "/api/actions/strict/pause", OPERATOR, {});
    for (const [path, component, token] of [
      ["/api/audit", "Audit", VIEWER],
      ["/api/whoami", "Whoami", VIEWER],
      ["/api/whoami", "Whoami", undefined],
    ] as const) {
      const answer = (await call(base, path, token)).json;
      expect(ajv.validate({ $ref: `api#/components/schemas/${component}` }, answer), ajv.errorsText()).toBe(
        true,
      );
    }
  });

  it("a config reload adds, re-roles and revokes tokens at once; other server settings still need a restart", async () => {
    const input = config(withRoles);
    const file = join(dir, "switchyard.yaml");
    const host = await startHost(finishConfig(input, file, {}), {
      source: memorySource(),
      logDestination: pino.destination("/dev/null"),
    });
    hosts.push(host);
    const base = `http://127.0.0.1:${host.port}`;
    const NEWER = "newcomer-token-0123456789abcdef";
    await host.reload(
      finishConfig(
        {
          ...input,
          server: {
            ...input.server,
            adminToken: undefined,
            adminTokens: [
              { name: "ann", token: VIEWER, role: "operator" },
              { name: "cy", token: NEWER, role: "viewer" },
            ],
          },
        },
        file,
        {},
      ),
    );
    // bob's token and the single adminToken are revoked; ann may change things now; cy reads.
    expect((await call(base, "/api/status", OPERATOR)).status).toBe(401);
    expect((await call(base, "/api/status", LEGACY)).status).toBe(401);
    expect((await call(base, "/api/actions/strict/pause", VIEWER, {})).status).toBe(200);
    const whoami = await fetch(`${base}/api/whoami`, { headers: bearer(NEWER) });
    expect(await whoami.json()).toEqual({ tokenRequired: true, name: "cy", role: "viewer" });
    expect((await call(base, "/api/actions/strict/resume", NEWER, {})).status).toBe(403);
    await expect(
      host.reload(finishConfig({ ...input, server: { ...input.server, maxConnections: 5 } }, file, {})),
    ).rejects.toThrow(/server cannot change while the host runs/);
  });

  it("refuses a config whose tokens share a name or a value, without printing the token", () => {
    const load = (server: Record<string, unknown>) => () =>
      finishConfig(config(server), join(dir, "switchyard.yaml"), {});
    expect(
      load({
        adminTokens: [
          { name: "ann", token: VIEWER, role: "viewer" },
          { name: "ann", token: OPERATOR, role: "operator" },
        ],
      }),
    ).toThrow(/adminTokens\[1\]\.name: the name "ann" is taken/);
    expect(
      load({ adminToken: LEGACY, adminTokens: [{ name: "admin", token: VIEWER, role: "viewer" }] }),
    ).toThrow(/taken \(by `adminToken`\)/);
    let message = "";
    try {
      load({
        adminTokens: [
          { name: "ann", token: VIEWER, role: "viewer" },
          { name: "bob", token: VIEWER, role: "operator" },
        ],
      })();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/adminTokens\[1\]\.token: this token is given twice/);
    expect(message).not.toContain(VIEWER);
    expect(load({ adminTokens: [{ name: "has space", token: VIEWER, role: "viewer" }] })).toThrow(/name/);
    expect(load({ adminTokens: [{ name: "ann", token: "short", role: "viewer" }] })).toThrow(/16 characters/);
    expect(load({ adminTokens: [{ name: "ann", token: VIEWER, role: "admin" }] })).toThrow(/role/);
    // Named tokens alone are enough to listen beyond loopback.
    expect(
      load({ host: "0.0.0.0", adminTokens: [{ name: "ann", token: VIEWER, role: "viewer" }] }),
    ).not.toThrow();
  });
});
