// The check of GitHub issue 22: outbound SCIM provisioning, written as an Auth0 Event Stream Action
// (fixtures/scim-provisioning.cjs), run with the default config (no `orderBy`: every action is ordered by
// subject), against a SCIM server that answers 503 now and then, with the host SIGKILLed mid-stream. The
// directory must end exactly as the users do.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Auth0Event } from "@switchyard/core";
import { createEventFactory, startFakeTenant, waitFor } from "@switchyard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { type CliProcess, runCli, startCli } from "../test/cli.js";
import { cleanupList, seededRandom, sleep } from "./harness.js";

const seed = Number(process.env.FAULT_SEED ?? 20261204);
const random = seededRandom(seed);
const cleanup = cleanupList();
afterEach(() => cleanup.run());

const ACTION = fileURLToPath(new URL("./fixtures/scim-provisioning.cjs", import.meta.url));
const TOKEN = "scim-token-0123456789";

interface ScimUser {
  id: string;
  externalId: string;
  userName: string;
  name?: { formatted?: string };
  emails?: Array<{ value: string }>;
}

/** A SCIM 2.0 service provider's /Users on 127.0.0.1, in memory, that fails now and then. */
async function startScimServer(flakiness: { before: number; after: number }) {
  const users = new Map<string, ScimUser>();
  const byExternalId = (externalId: string) => [...users.values()].find((u) => u.externalId === externalId);
  let failures = 0;
  const read = async (req: IncomingMessage) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    return text ? (JSON.parse(text) as Omit<ScimUser, "id">) : undefined;
  };
  const server = createServer(async (req, res) => {
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, body ? { "content-type": "application/scim+json" } : {});
      res.end(body ? JSON.stringify(body) : undefined);
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { status: "401" });
    // Down before doing anything, or after doing it (the reply is lost: the client must retry safely).
    if (random() < flakiness.before) {
      failures++;
      return send(503, { status: "503", detail: "try again" });
    }
    const url = new URL(req.url ?? "/", "http://scim");
    const body = await read(req);
    const id = decodeURIComponent(url.pathname.split("/")[2] ?? "");
    let status = 200;
    let answer: unknown;
    if (req.method === "GET" && url.pathname === "/Users") {
      const match = /^externalId eq "(.*)"$/.exec(url.searchParams.get("filter") ?? "");
      const found = match ? byExternalId(match[1]!.replace(/\\"/g, '"')) : undefined;
      answer = {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        totalResults: found ? 1 : 0,
        Resources: found ? [found] : [],
      };
    } else if (req.method === "POST" && url.pathname === "/Users" && body) {
      if (byExternalId(body.externalId)) {
        status = 409;
        answer = { status: "409", scimType: "uniqueness", detail: `externalId ${body.externalId} exists` };
      } else {
        const user = { ...body, id: randomUUID() };
        users.set(user.id, user);
        [status, answer] = [201, user];
      }
    } else if (req.method === "PUT" && users.has(id) && body) {
      const user = { ...body, id };
      users.set(id, user);
      answer = user;
    } else if (req.method === "DELETE" && users.has(id)) {
      users.delete(id);
      status = 204;
    } else {
      [status, answer] = [404, { status: "404" }];
    }
    if (random() < flakiness.after) {
      failures++;
      return send(503, { status: "503" });
    }
    send(status, answer);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    users,
    failures: () => failures,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** 150 users' lives, interleaved: created, updated 0-3 times, a quarter of them deleted; time follows the stream. */
function userStream(count: number) {
  const factory = createEventFactory({ seed });
  const lives: Auth0Event[][] = [];
  for (let u = 0; u < count; u++) {
    const userId = `auth0|${String(u).padStart(6, "0")}`;
    const version = (n: number) => ({
      user_id: userId,
      email: `user${u}.v${n}@example.com`,
      name: `User ${u} version ${n}`,
      username: `user${u}`,
    });
    const life: Auth0Event[] = [factory.event("user.created", { object: version(0) })];
    const updates = Math.floor(random() * 4);
    for (let n = 1; n <= updates; n++) life.push(factory.event("user.updated", { object: version(n) }));
    if (random() < 0.25) life.push(factory.event("user.deleted", { object: version(updates) }));
    lives.push(life);
  }
  const stream: Auth0Event[] = [];
  const pending = lives.map((life) => [...life]);
  while (pending.some((life) => life.length > 0)) {
    const open = pending.filter((life) => life.length > 0);
    stream.push(open[Math.floor(random() * open.length)]!.shift()!);
  }
  const start = Date.UTC(2026, 11, 4, 12);
  for (const [i, event] of stream.entries()) event.time = new Date(start + i * 10).toISOString();
  return { stream, lives };
}

describe("fault suite: a SCIM sync ends right", () => {
  it(`with the default order, a SIGKILL mid-stream and a flaky SCIM server (seed ${seed})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-scim-"));
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const tenant = await startFakeTenant({ heartbeatMs: 200, cutEvery: 173 });
    cleanup.add(() => tenant.close());
    const scim = await startScimServer({ before: 0.1, after: 0.04 });
    cleanup.add(() => scim.close());

    const { stream, lives } = userStream(150);
    const factory = createEventFactory({ seed: seed + 1 });
    // Auth0's test button: the action skips it.
    const probe = factory.event("user.created", { a0purpose: "test", object: { user_id: "auth0|test" } });
    stream.splice(40, 0, probe);

    const config = join(dir, "switchyard.yaml");
    writeFileSync(
      config,
      `source:
  auth0: { domain: "${tenant.url}", token: "${tenant.token}", fromTimestamp: "2026-01-01T00:00:00Z" }
state: ./state
server: { port: 0 }
actions:
  - name: scim
    plugin: "${ACTION}"
    events: ["user.*"]
    secrets: { SCIM_URL: "${scim.url}", SCIM_TOKEN: "${TOKEN}" }
    retry: { maxAttempts: 100, initialDelayMs: 20, maxDelayMs: 300 }
`,
    );
    const host = (): CliProcess => {
      const cli = startCli(["start", "--config", config], {});
      cleanup.add(() => cli.child.kill("SIGKILL"));
      return cli;
    };

    // Half the stream, a SIGKILL while it is being delivered, then the rest with a second SIGKILL.
    let fed = 0;
    const feed = (n: number) => {
      const chunk = stream.slice(fed, fed + n);
      fed += chunk.length;
      if (chunk.length > 0) tenant.append(chunk);
    };
    for (const share of [0.5, 0.3]) {
      const first = host();
      await first.waitForLog(/started/);
      feed(Math.round(stream.length * share));
      await sleep(300 + random() * 700);
      first.child.kill("SIGKILL");
      await first.exited;
    }
    feed(stream.length);
    const last = host();

    // The directory the users' last events describe.
    const expected = new Map<string, { userName: string; email: string; name: string }>();
    for (const life of lives) {
      const final = life.at(-1)!;
      const user = final.data.object as { user_id: string; email: string; name: string; username: string };
      if (final.type !== "user.deleted")
        expected.set(user.user_id, { userName: user.username, email: user.email, name: user.name });
    }
    const directory = () =>
      new Map(
        [...scim.users.values()].map((u) => [
          u.externalId,
          { userName: u.userName, email: u.emails?.[0]?.value ?? "", name: u.name?.formatted ?? "" },
        ]),
      );
    const pending = async () => {
      const { stdout } = await runCli(["actions", "list", "--json", "--config", config]);
      return (JSON.parse(stdout) as Array<{ pending: number; dead: number }>)[0]!;
    };
    const sorted = (map: Map<string, unknown>) =>
      JSON.stringify([...map].sort(([a], [b]) => (a < b ? -1 : 1)));
    // Until the directory is right and the store has nothing left; on a timeout, the diff below says how not.
    await waitFor(
      async () => {
        if (sorted(directory()) !== sorted(expected)) return false;
        const state = await pending();
        return state.pending === 0 && state.dead === 0;
      },
      { timeoutMs: 40_000, intervalMs: 300 },
    ).catch(() => undefined);
    expect(Object.fromEntries(directory())).toEqual(Object.fromEntries(expected));
    expect(await pending()).toMatchObject({ pending: 0, dead: 0 });
    expect(scim.failures()).toBeGreaterThan(0);
    console.log(
      `SCIM sync (seed ${seed}): ${stream.length} events of ${lives.length} users, 2 SIGKILLs, ${scim.failures()} SCIM 503s; ${expected.size} users in the directory, as expected`,
    );
    last.child.kill("SIGTERM");
    expect((await last.exited).code).toBe(0);
  }, 60_000);
});
