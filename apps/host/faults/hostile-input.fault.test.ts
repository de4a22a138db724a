// The hardening issue's check: a real host process, on SQLite and on PostgreSQL state, with a webhook source,
// the ops server, a file action and an HTTP action, is sent what a hostile or careless client sends. It must
// stay up and healthy (and after a restart), accept and deliver the valid events sent alongside, close idle
// sockets in time, keep /metrics small, and print no secret.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Auth0Event } from "@switchyard/core";
import { createEventFactory, startFakeWebhook, waitFor } from "@switchyard/testing";
import { Pool } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { type CliProcess, startCli } from "../test/cli.js";
import { freePort } from "../test/ports.js";
import { createTestSchema, postgresAvailable } from "../test/postgres.js";
import { cleanupList } from "./harness.js";

const cleanup = cleanupList();
afterEach(() => cleanup.run());

const HOOK_TOKEN = "hook-bearer-token-4f1c9a";
const URL_TOKEN = "query-string-token-77e2";
const PG_PASSWORD = "pg-query-password-5d0b";
const SECRET = "action-secret-value-31ab";

/** A raw exchange: write `payload`, read until the server closes or `untilMs` passes. */
function raw(port: number, payload: string, untilMs = 3_000): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(payload));
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    const timer = setTimeout(done, untilMs);
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      if (/\r\n\r\n/.test(text)) done();
    });
    socket.on("error", done);
    socket.on("close", done);
  });
}

describe.each(["sqlite", "postgres"] as const)("fault suite: hostile input, %s state", (engine) => {
  it("stays up and healthy, delivers the valid events, closes idle sockets, prints no secret", async () => {
    if (engine === "postgres" && !(await postgresAvailable())) return;
    const dir = mkdtempSync(join(tmpdir(), `switchyard-hostile-${engine}-`));
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    let state = "./state";
    if (engine === "postgres") {
      const schema = await createTestSchema();
      cleanup.add(() => schema.drop());
      // Trust authentication ignores the password: it is here to be kept out of every output.
      state = `${schema.url}&password=${PG_PASSWORD}`;
    }
    const receiver = await startFakeWebhook();
    cleanup.add(() => receiver.close());
    const [hookPort, opsPort] = [await freePort(), await freePort()];
    mkdirSync(join(dir, "actions"));
    writeFileSync(join(dir, "package.json"), '{ "type": "commonjs" }\n');
    writeFileSync(
      join(dir, "actions", "record.js"),
      `const { appendFileSync } = require("node:fs");
exports.onExecuteEventStream = async (event) => {
  appendFileSync(${JSON.stringify(join(dir, "delivered.txt"))}, event.message.id + "\\n");
};
`,
    );
    const config = join(dir, "switchyard.yaml");
    writeFileSync(
      config,
      `source:
  webhook:
    port: ${hookPort}
    path: /auth0/events
    auth: { bearer: "\${HOOK_TOKEN}" }
    headersTimeoutMs: 1000
    requestTimeoutMs: 2000
state: "\${STATE}"
server: { port: ${opsPort}, headersTimeoutMs: 1000, requestTimeoutMs: 2000 }
actions:
  - name: record
    plugin: ./actions/record.js
    events: ["*"]
    secrets: { API_KEY: "${SECRET}" }
  - name: forward
    plugin: "@switchyard/plugin-http"
    events: ["user.*"]
    with: { url: "${receiver.url}/in?team=ops&access_token=${URL_TOKEN}" }
`,
    );
    const env = { HOOK_TOKEN, STATE: state };
    const outputs: CliProcess[] = [];
    const start = async () => {
      const cli = startCli(["start", "--config", config], env);
      cleanup.add(() => cli.child.kill("SIGKILL"));
      outputs.push(cli);
      await cli.waitForLog("switchyard started", 60_000);
      return cli;
    };
    const first = await start();

    const pool = new Pool(`http://127.0.0.1:${hookPort}`, { connections: 8 });
    cleanup.add(() => pool.destroy());
    const post = async (body: string, headers: Record<string, string> = {}) => {
      const answer = await pool.request({
        path: "/auth0/events",
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${HOOK_TOKEN}`, ...headers },
        body,
      });
      return { status: answer.statusCode, text: await answer.body.text() };
    };
    const ops = (path: string) => raw(opsPort, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const healthy = async () =>
      /^HTTP\/1\.1 200/.test(await ops("/healthz")) && /^HTTP\/1\.1 200/.test(await ops("/readyz"));

    const factory = createEventFactory({ seed: 2121 });
    const valid: Auth0Event[] = [];
    const sendValid = async (n: number) => {
      for (const event of factory.many(n)) {
        expect((await post(JSON.stringify(event))).status).toBe(200);
        valid.push(event);
      }
    };

    // A request target `new URL` rejects, on both ports.
    for (const port of [opsPort, hookPort]) {
      expect(await raw(port, "GET http://x:99999/ HTTP/1.1\r\nHost: x\r\n\r\n")).toMatch(
        /^HTTP\/1\.1 40[04]/,
      );
    }
    await sendValid(20);

    // An event nested 5,000 levels deep (11 KB): refused at intake.
    const deep = JSON.stringify(factory.many(1)[0]).replace(
      /}$/,
      `,"x":${"[".repeat(5_000)}${"]".repeat(5_000)}}`,
    );
    const refusedDeep = await post(deep);
    expect(refusedDeep.status).toBe(400);
    expect(refusedDeep.text).toMatch(/nested deeper than 64 levels/);

    // A NUL byte, a line break in an id; a 100 KB type: refused. Valid events go alongside, concurrently.
    const [nul, newline, long] = factory.many(3).map((e) => ({ ...e })) as Array<Record<string, unknown>>;
    nul!.id = "evt_\u0000nul";
    newline!.id = "evt_\nforged";
    long!.type = `x.${"t".repeat(100_000)}`;
    const alongside = factory.many(30);
    const answers = await Promise.all([
      ...[nul, newline, long].map((e) => post(JSON.stringify(e))),
      ...alongside.map((e) => post(JSON.stringify(e))),
    ]);
    expect(answers.slice(0, 3).map((a) => a.status)).toEqual([400, 400, 400]);
    expect(answers.slice(3).every((a) => a.status === 200)).toBe(true);
    valid.push(...alongside);

    // 300 distinct unknown types of 200 bytes: accepted and delivered, one `other` label in the metrics.
    for (let i = 0; i < 300; i++) {
      const event = { ...factory.many(1)[0]!, type: `custom.${i}.${"u".repeat(190)}` } as Auth0Event;
      expect((await post(JSON.stringify(event))).status).toBe(200);
      valid.push(event);
    }

    // 20 KB of headers; an Expect: 100-continue with the wrong token; the admin API with NUL and bad escapes.
    expect(
      await raw(hookPort, `POST /auth0/events HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`),
    ).toMatch(/^HTTP\/1\.1 431/);
    expect(
      await raw(
        hookPort,
        "POST /auth0/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong-token-123\r\nContent-Type: application/json\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
      ),
    ).toMatch(/^HTTP\/1\.1 401/);
    expect(await ops("/api/events/evt_%00x")).toMatch(/^HTTP\/1\.1 400/);
    expect(await ops("/api/events/%E0%A4%A")).toMatch(/^HTTP\/1\.1 400/);

    // Idle sockets on both ports: each closed (with 408) within the headers timeout and the check's second.
    const idle = await Promise.all(
      Array.from(
        { length: 60 },
        (_, i) =>
          new Promise<{ closedAfterMs: number; text: string }>((resolve) => {
            const opened = Date.now();
            let text = "";
            const socket = connect(i % 2 ? hookPort : opsPort, "127.0.0.1");
            socket.on("data", (chunk) => {
              text += chunk.toString("latin1");
            });
            socket.on("error", () => {});
            socket.on("close", () => resolve({ closedAfterMs: Date.now() - opened, text }));
            cleanup.add(() => socket.destroy());
          }),
      ),
    );
    expect(Math.max(...idle.map((s) => s.closedAfterMs))).toBeLessThan(10_000);
    expect(idle.every((s) => s.text.startsWith("HTTP/1.1 408"))).toBe(true);
    await sendValid(10);

    // Healthy throughout; every valid event delivered to the file action; /metrics small.
    expect(await healthy()).toBe(true);
    const deliveredIds = () => new Set(readFileSync(join(dir, "delivered.txt"), "utf8").split("\n"));
    await waitFor(() => valid.every((e) => deliveredIds().has(e.id)), {
      timeoutMs: 60_000,
      intervalMs: 100,
      message: "every valid event delivered",
    });
    const metrics = await new Promise<string>((resolve) => {
      let text = "";
      const socket = connect(opsPort, "127.0.0.1", () =>
        socket.write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
      );
      socket.on("data", (chunk) => {
        text += chunk.toString("utf8");
      });
      socket.on("close", () => resolve(text));
    });
    expect(metrics.length).toBeLessThan(200_000);
    expect(metrics).toContain('switchyard_events_received_total{type="other"} 300');
    expect(metrics).not.toContain("uuuuuuuuuu");

    // A clean stop and a restart: healthy again, nothing recovered throws.
    first.child.kill("SIGTERM");
    expect((await first.exited).code).toBe(0);
    await start();
    expect(await healthy()).toBe(true);
    await sendValid(5);
    await waitFor(() => valid.every((e) => deliveredIds().has(e.id)), { timeoutMs: 30_000, intervalMs: 100 });

    const printed = outputs.flatMap((cli) => [...cli.stdout, ...cli.stderr]).join("\n");
    for (const secret of [HOOK_TOKEN, URL_TOKEN, PG_PASSWORD, SECRET]) expect(printed).not.toContain(secret);
    expect(printed).not.toMatch(/uncaught|unhandled/i);
  }, 180_000);
});
