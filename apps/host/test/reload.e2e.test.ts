import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createEventFactory,
  type FakeServer,
  type FakeTenant,
  startFakeServer,
  startFakeTenant,
  waitFor,
} from "@switchyard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliProcess, runCli, startCli, tenantEnv } from "./cli.js";

let dir: string;
let config: string;
let tenant: FakeTenant;
let receiver: FakeServer;
let env: NodeJS.ProcessEnv;
const running: CliProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-reload-"));
  config = join(dir, "switchyard.yaml");
  tenant = await startFakeTenant({ heartbeatMs: 500 });
  receiver = await startFakeServer();
  env = {
    ...tenantEnv(tenant),
  };
});

afterAll(async () => {
  for (const cli of running) cli.child.kill("SIGKILL");
  await Promise.all([tenant?.close(), receiver?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** A config whose actions post to the receiver under `/<path>`, by action name. */
function writeConfig(actions: Record<string, string>, extra = ""): void {
  const lines = [
    "source:",
    // Quoted: an unquoted `${…}` inside a YAML flow map is a YAML error.
    '  auth0: { domain: "${AUTH0_DOMAIN}", clientId: "${AUTH0_CLIENT_ID}", clientSecret: "${AUTH0_CLIENT_SECRET}" }',
    "state: ./state",
    "server: { port: 0 }",
    extra,
    "actions:",
    ...Object.entries(actions).flatMap(([name, path]) => [
      `  - name: ${name}`,
      '    plugin: "@switchyard/plugin-http"',
      '    events: ["*"]',
      `    with: { url: "${receiver.url}/${path}" }`,
      "    concurrency: 4",
    ]),
  ];
  writeFileSync(config, `${lines.join("\n")}\n`);
}

/** Event ids the receiver got on `path`, with how many times each. */
function received(path: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of receiver.requests) {
    if (request.path !== `/${path}`) continue;
    const id = (request.json as { id: string }).id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe("reloading the config (SIGHUP, `switchyard reload`) while deliveries flow", () => {
  it("adds, changes and removes actions without losing a delivery; refuses a broken config and keeps running", async () => {
    const factory = createEventFactory({ seed: 7 });
    // Slow answers, so that attempts are in flight on the old instances when the signal arrives.
    receiver.failAlways({ delayMs: 50 });
    writeConfig({ keep: "keep", change: "change-v1", remove: "remove" });
    const host = startCli(["start", "--config", config], env, dir);
    running.push(host);
    const consoleUrl = String((await host.waitForLog("switchyard started")).console);
    // A first connection without a cursor starts at the stream's end: append once it is connected.
    await host.waitForLog("stream connected");

    tenant.append(factory.many(300));
    await waitFor(() => received("change-v1").size >= 20, {
      timeoutMs: 30_000,
      message: "deliveries before the reload",
    });

    // The new config: `change` posts elsewhere, `remove` is gone, `add` is new.
    writeConfig({ keep: "keep", change: "change-v2", add: "add" });
    host.child.kill("SIGHUP");
    const reloaded = await host.waitForLog("config reloaded");
    expect(reloaded).toMatchObject({
      added: ["add"],
      changed: ["change"],
      removed: ["remove"],
      unchanged: 1,
    });
    // The admin API (and the console) show the new actions.
    const listed = (await (await fetch(`${consoleUrl}api/actions`)).json()) as {
      actions: Array<{ name: string; state: string }>;
    };
    const configured = listed.actions.filter((a) => a.state !== "removed");
    expect(configured.map((a) => a.name).sort()).toEqual(["add", "change", "keep"]);
    // The removed action's deliveries that still wait in the store (its receiver is slow) are listed as such.
    expect(listed.actions.filter((a) => a.state === "removed").map((a) => a.name)).toEqual(
      listed.actions.length > configured.length ? ["remove"] : [],
    );
    // The audit log says who reloaded and what changed.
    const audit = (await (await fetch(`${consoleUrl}api/audit`)).json()) as { items: unknown[] };
    expect(audit.items).toMatchObject([
      {
        actor: "signal:SIGHUP",
        operation: "reload",
        selection: { file: config },
        result: { added: ["add"], changed: ["change"], removed: ["remove"], unchanged: 1 },
      },
    ]);
    tenant.append(factory.many(300));

    // A broken config (a plugin option of the wrong type) is refused through `switchyard reload`, which
    // checks it before signalling; the host itself refuses it too, with the reason, and keeps running.
    writeFileSync(config, `${readFileSync(config, "utf8")}    timeoutMs: soon\n`);
    const refusedByCommand = await runCli(["reload", "--config", config], env, dir);
    expect(refusedByCommand.code).toBe(2);
    expect(refusedByCommand.stderr).toMatch(/timeoutMs/);
    host.child.kill("SIGHUP");
    const refused = await host.waitForLog("config reload refused: the running config is kept");
    expect(String(refused.reason)).toMatch(/timeoutMs/);

    // A setting that needs a restart is refused with that reason.
    writeConfig({ keep: "keep", change: "change-v2", add: "add" }, "delivery: { maxPending: 5000 }");
    host.child.kill("SIGHUP");
    await waitFor(
      () =>
        host
          .logs()
          .find(
            (l) =>
              l.msg === "config reload refused: the running config is kept" &&
              /delivery/.test(String(l.reason)),
          ),
      { timeoutMs: 30_000, message: "a restart-only change refused" },
    );

    // `switchyard reload` finds the host by its state folder's lock and signals it.
    writeConfig({ keep: "keep", change: "change-v2", add: "add", late: "late" });
    const sent = await runCli(["reload", "--config", config], env, dir);
    expect(sent.stdout).toContain(`pid ${host.child.pid}`);
    await waitFor(() => host.logs().filter((l) => l.msg === "config reloaded").length === 2, {
      timeoutMs: 30_000,
      message: "the second reload",
    });
    // `switchyard reload` said who asked; the refused reloads are not in the audit log.
    const audited = (await (await fetch(`${consoleUrl}api/audit`)).json()) as {
      items: Array<{ actor: string; operation: string; result: Record<string, unknown> }>;
    };
    expect(audited.items.map((e) => e.operation)).toEqual(["reload", "reload"]);
    expect(audited.items[0]!.actor).toMatch(/^cli:.+@.+$/);
    expect(audited.items[0]!.result).toMatchObject({ added: ["late"], removed: [] });
    tenant.append(factory.many(100));

    const all = Array.from({ length: tenant.size }, (_, i) => tenant.eventAt(i).id);
    const after = all.slice(300);
    // Every event reaches `keep`, and `change` on one of its two addresses: nothing lost across the reloads.
    await waitFor(
      () => {
        const change = new Set([...received("change-v1").keys(), ...received("change-v2").keys()]);
        return all.every((id) => received("keep").has(id) && change.has(id));
      },
      { timeoutMs: 60_000, message: "every event delivered to keep and change" },
    );
    // Events written after the reload reach the added action, none of them the removed one.
    await waitFor(() => after.every((id) => received("add").has(id)), {
      timeoutMs: 30_000,
      message: "the added action's deliveries",
    });
    const removed = received("remove");
    expect(after.filter((id) => removed.has(id))).toEqual([]);
    // The new address took over: events after the reload went there.
    expect(after.slice(-100).every((id) => received("change-v2").has(id))).toBe(true);
    // At least once, and not more: no event came twice to `keep`, whose config never changed.
    expect([...received("keep").values()].filter((n) => n > 1)).toEqual([]);
    // Attempts in flight at each reload finished on their old instance: none was cut off or failed. The
    // removed action's deliveries still in the store at its reload are pointed out (they wait for it).
    const waiting = (l: Record<string, unknown>) =>
      String(l.msg).startsWith("the store holds deliveries of actions that are not in the config");
    expect(
      host
        .logs()
        .filter((l) => (l.level === "warn" && !waiting(l)) || l.level === "error" || l.level === "fatal"),
    ).toEqual(host.logs().filter((l) => l.msg === "config reload refused: the running config is kept"));
    for (const line of host.logs().filter(waiting))
      expect(Object.keys(line.actions as object)).toEqual(["remove"]);

    host.child.kill("SIGTERM");
    expect((await host.exited).code).toBe(0);
  }, 120_000);
});
