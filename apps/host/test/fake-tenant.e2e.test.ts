import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FakeServer, startFakeServer, waitFor } from "@switchyard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliProcess, runCli, startCli } from "./cli.js";

let dir: string;
let receiver: FakeServer;
const running: CliProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-fake-tenant-"));
  receiver = await startFakeServer();
});

afterAll(async () => {
  for (const cli of running) cli.child.kill("SIGKILL");
  await receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("your own config on fake events", () => {
  it("`start --config FILE --fake-tenant` runs the config's actions with no tenant credentials, on its own state", async () => {
    // The source names variables that are not set: --fake-tenant replaces it, so they are not needed.
    const config = (extra: string[] = []) =>
      [
        "source:",
        '  auth0: { domain: "${AUTH0_DOMAIN}", clientId: "${AUTH0_CLIENT_ID}", clientSecret: "${AUTH0_CLIENT_SECRET}" }',
        "state: ./real-state",
        "server: { port: 0 }",
        "actions:",
        "  - name: signups",
        '    plugin: "@switchyard/plugin-http"',
        '    events: ["user.created"]',
        `    with: { url: "${receiver.url}/signups" }`,
        ...extra,
        "",
      ].join("\n");
    writeFileSync(join(dir, "switchyard.yaml"), config());
    const host = startCli(
      ["start", "--config", "switchyard.yaml", "--fake-tenant"],
      { SWITCHYARD_DEMO_RATE: "20" },
      dir,
    );
    running.push(host);
    await waitFor(() => receiver.requests.length >= 5, {
      timeoutMs: 20_000,
      message: "deliveries of fake events",
    });
    // Only the types the config's actions take are emitted.
    expect(receiver.requests.every((r) => (r.json as { type: string }).type === "user.created")).toBe(true);
    const banner = host.stderr.join("\n");
    expect(banner).toContain("Switchyard with a fake tenant: switchyard.yaml's actions (signups)");
    expect(banner).toMatch(/State: \.switchyard\/fake-tenant/);
    // The real state is untouched: no fake event or cursor lands in it.
    expect(existsSync(join(dir, "real-state"))).toBe(false);
    expect(existsSync(join(dir, ".switchyard", "fake-tenant"))).toBe(true);
    // Edited, then applied as the banner says: `switchyard reload --config … --fake-tenant`.
    expect(banner).toContain("reload --config switchyard.yaml --fake-tenant");
    writeFileSync(
      join(dir, "switchyard.yaml"),
      config([
        "  - name: everything",
        '    plugin: "@switchyard/plugin-http"',
        '    events: ["*"]',
        `    with: { url: "${receiver.url}/everything" }`,
      ]),
    );
    const reload = await runCli(["reload", "--config", "switchyard.yaml", "--fake-tenant"], {}, dir);
    expect(reload.stdout, reload.stderr).toContain(`pid ${host.child.pid}`);
    expect(await host.waitForLog("config reloaded")).toMatchObject({ added: ["everything"] });
    await waitFor(() => receiver.requests.some((r) => r.path === "/everything"), {
      timeoutMs: 30_000,
      message: "the added action",
    });
    host.child.kill("SIGTERM");
    expect((await host.exited).code).toBe(0);
  }, 90_000);

  it("`switchyard fake-tenant` serves a stream a config can point at, and prints the variables to use", async () => {
    const tenant = startCli(["fake-tenant", "--port", "0", "--rate", "20"], {}, dir);
    running.push(tenant);
    const line = await waitFor(() => tenant.stdout.find((l) => l.startsWith("  AUTH0_DOMAIN=")));
    const domain = line.slice("  AUTH0_DOMAIN=".length);
    const token = await fetch(`${domain}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "client_credentials",
        client_id: tenant.stdout.find((l) => l.startsWith("  AUTH0_CLIENT_ID="))!.split("=")[1],
        client_secret: tenant.stdout.find((l) => l.startsWith("  AUTH0_CLIENT_SECRET="))!.split("=")[1],
      }),
    });
    expect(token.status).toBe(200);
    tenant.child.kill("SIGTERM");
    expect((await tenant.exited).code).toBe(0);
  });
});
