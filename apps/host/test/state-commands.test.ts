import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { createEventFactory, waitFor } from "@switchyard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerActions } from "../src/commands/actions.js";
import { registerAudit } from "../src/commands/audit.js";
import { registerDlq } from "../src/commands/dlq.js";
import { registerSendTest } from "../src/commands/send-test.js";
import { loadConfig } from "../src/config/load.js";
import { loadStateConfig } from "../src/config/state-config.js";
import { exitCodeOf } from "../src/exit-code.js";
import { lockStateDir } from "../src/lock.js";
import { openStore } from "../src/store/open.js";
import type { StateStore } from "../src/store/types.js";
import { runCli } from "./cli.js";
import { runCommand } from "./run-command.js";

// Credentials and plugin options come from variables that are not set: the state commands must not need them.
const CONFIG = `source:
  auth0:
    domain: \${STATE_TEST_AUTH0_DOMAIN}
    clientId: \${STATE_TEST_AUTH0_CLIENT_ID}
    clientSecret: \${STATE_TEST_AUTH0_CLIENT_SECRET}
state: \${STATE_TEST_DIR:-./state}
actions:
  - name: warehouse
    plugin: "@switchyard/plugin-http"
    events: ["*"]
    with: { url: "\${STATE_TEST_WAREHOUSE_URL}", secret: "\${STATE_TEST_WAREHOUSE_SECRET}" }
  - name: slack
    plugin: "@switchyard/plugin-slack"
    events: ["user.created"]
    with: { token: "\${STATE_TEST_SLACK_TOKEN}", channel: "#signups" }
`;

let dir: string;
let config: string;
const factory = createEventFactory({ seed: 7 });

/** Dead-letter one delivery per event of `tenant` for `action`, through the store's own contract. */
async function deadLetter(
  store: StateStore,
  action: string,
  types: string[],
  tenant?: string,
): Promise<string[]> {
  const events = types.map((type) => factory.event(type));
  await store.ingest(
    events.map((event) => ({
      event,
      payload: JSON.stringify(event),
      deliveries: [{ action, orderKey: null, held: false }],
    })),
    undefined,
    tenant,
  );
  const claimed = await store.claim(action, 100, Date.now(), false);
  await store.complete(
    claimed.map((c) => ({ key: c.key, action, result: "dead", attempts: 1, error: `refused ${c.key}` })),
  );
  return events.map((e) => e.id);
}

const register = (program: Parameters<typeof registerDlq>[0]) => {
  registerDlq(program);
  registerAudit(program);
  registerActions(program);
  registerSendTest(program);
};
/** The command in this process with `file` as its config; `code` as the CLI would exit (cli.ts's own mapping). */
const cliWith = async (file: string, args: string[]) => {
  const run = await runCommand(register, [...args, "--config", file]);
  return { code: exitCodeOf(run.error), stdout: run.stdout, stderr: run.stderr };
};
const cli = (...args: string[]) => cliWith(config, args);
const listed = async (...args: string[]) => {
  const result = await cli("dlq", "list", "--json", ...args);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as Array<{ eventId: string; action: string; eventType: string }>).map(
    (d) => d.eventId,
  );
};

let older: string[];
let newer: string[];
let slackDead: string[];
let between: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-state-"));
  config = join(dir, "switchyard.yaml");
  writeFileSync(config, CONFIG);
  const store = await openStore(await loadStateConfig(config, {}));
  try {
    older = await deadLetter(store, "warehouse", ["group.created", "user.created", "user.deleted"]);
    const mark = Date.now();
    // The dead letters' times are the store's clock: let it pass the mark before the second batch.
    await waitFor(() => Date.now() > mark + 2);
    between = new Date(mark + 1).toISOString();
    newer = await deadLetter(store, "warehouse", ["user.updated", "group.deleted"]);
    slackDead = await deadLetter(store, "slack", ["user.created"]);
  } finally {
    await store.close();
  }
}, 30_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("switchyard dlq with a selection (no credentials set)", () => {
  it("lists by action, event, type pattern, time range and limit", async () => {
    expect(await listed()).toEqual([...older, ...newer, ...slackDead]);
    expect(await listed("--action", "slack")).toEqual(slackDead);
    expect(await listed("--event", newer[0]!)).toEqual([newer[0]]);
    expect(await listed("--type", "user.*", "--action", "warehouse")).toEqual([older[1], older[2], newer[0]]);
    expect(await listed("--since", between)).toEqual([...newer, ...slackDead]);
    expect(await listed("--until", between)).toEqual(older);
    expect(await listed("--since", "1h", "--limit", "2")).toEqual(older.slice(0, 2));
    expect(await listed("--until", "1h")).toEqual([]);
    const text = await cli("dlq", "list", "--action", "slack");
    expect(text.stdout).toMatch(/1 dead letter;/);
  }, 60_000);

  it("refuses a bad pattern, a bad time and an unknown action with exit 2, and writes nothing", async () => {
    const pattern = await cli("dlq", "list", "--type", "user.**");
    expect(pattern.code).toBe(2);
    expect(pattern.stderr).toMatch(/--type/);
    const when = await cli("dlq", "list", "--since", "yesterday");
    expect(when.code).toBe(2);
    expect(when.stderr).toMatch(/30m, 2h, 7d/);
    const typo = await cli("dlq", "replay", "--action", "warehose");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown action "warehose"');
    expect(typo.stderr).toContain('"warehouse", "slack"');
    expect(typo.stdout).toBe("");
    const pause = await cli("actions", "pause", "warehose");
    expect(pause.code).toBe(2);
    const store = await openStore(await loadStateConfig(config, {}));
    try {
      expect(await store.actionStates()).toEqual({});
      expect(Object.keys((await store.stats()).dead).sort()).toEqual(["slack", "warehouse"]);
    } finally {
      await store.close();
    }
  }, 60_000);

  it("replays and purges a selection, with a dry run first, and says how many it touched", async () => {
    const dry = await cli("dlq", "replay", "--type", "group.*", "--dry-run");
    expect(dry.stdout).toContain("would replay 2 dead letters (dry run: nothing changed)");
    expect(await listed("--type", "group.*")).toEqual([older[0], newer[1]]);
    const replay = await cli("dlq", "replay", "--type", "group.*", "--limit", "1");
    expect(replay.stdout).toContain("1 delivery(ies) queued again");
    expect(await listed("--type", "group.*")).toEqual([newer[1]]);

    const unselected = await cli("dlq", "purge");
    expect(unselected.code).toBe(2);
    expect(unselected.stderr).toContain("--all");
    const dryPurge = await cli("dlq", "purge", "--action", "warehouse", "--since", between, "--dry-run");
    expect(dryPurge.stdout).toContain("would purge 2 dead letters");
    const purge = await cli("dlq", "purge", "--action", "warehouse", "--since", between);
    expect(purge.code).toBe(0);
    expect(purge.stdout).toContain("purged 2 dead letters");
    expect(await listed()).toEqual([older[1], older[2], ...slackDead]);
    const all = await cli("dlq", "purge", "--all");
    expect(all.stdout).toContain("purged 3 dead letters");
    expect(await listed()).toEqual([]);
  }, 60_000);

  it("refuses to replay a dead letter whose subject had a newer delivery since, unless --force", async () => {
    const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
    const old = factory.event("user.updated", { time: at(1), object: { user_id: "auth0|replay" } });
    const newer = factory.event("user.updated", { time: at(2), object: { user_id: "auth0|replay" } });
    const store = await openStore(await loadStateConfig(config, {}));
    try {
      const { keys } = await store.ingest(
        [old, newer].map((event) => ({
          event,
          payload: JSON.stringify(event),
          deliveries: [{ action: "warehouse", orderKey: "auth0|replay", held: false }],
        })),
        undefined,
      );
      await store.complete([
        { key: keys[0]!, action: "warehouse", result: "dead", attempts: 8, error: "503" },
        {
          key: keys[1]!,
          action: "warehouse",
          result: "delivered",
          latest: { subject: "auth0|replay", time: Date.parse(at(2)) },
        },
      ]);
    } finally {
      await store.close();
    }
    const dry = await cli("dlq", "replay", "--event", old.id, "--dry-run");
    expect(dry.stdout).toContain("would replay 0 dead letters");
    const refused = await cli("dlq", "replay", "--event", old.id);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("0 delivery(ies) queued again");
    expect(refused.stderr).toContain(
      `refused: a newer event of its subject was delivered to warehouse since (${newer.id}, ${at(2)}): replaying ${old.id} would undo it`,
    );
    expect(await listed("--event", old.id)).toEqual([old.id]);
    const forced = await cli("dlq", "replay", "--event", old.id, "--force");
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain("1 delivery(ies) queued again");
    expect(await listed("--event", old.id)).toEqual([]);
    // Delivered, as a host would: the other tests count this state's pending deliveries.
    const after = await openStore(await loadStateConfig(config, {}));
    try {
      const due = await after.claim("warehouse", 100, Date.now(), true);
      const mine = due.filter((d) => JSON.parse(d.payload).id === old.id);
      await after.complete(mine.map((d) => ({ key: d.key, action: "warehouse", result: "delivered" })));
      await after.complete(
        due
          .filter((d) => !mine.includes(d))
          .map((d) => ({
            key: d.key,
            action: "warehouse",
            result: "retry",
            attempts: 0,
            dueAt: 0,
            error: "",
          })),
      );
    } finally {
      await after.close();
    }
  });
});

describe("switchyard actions (no credentials set)", () => {
  it("pauses and resumes through the store, and lists each action with its state and counts", async () => {
    const pause = await cli("actions", "pause", "slack");
    expect(pause.code, pause.stderr).toBe(0);
    expect(pause.stdout).toContain("paused slack");
    const list = await cli("actions", "list", "--json");
    expect(list.code, list.stderr).toBe(0);
    const actions = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
    expect(actions.map((a) => a.name)).toEqual(["warehouse", "slack"]);
    expect(actions[0]).toMatchObject({
      plugin: "@switchyard/plugin-http",
      events: ["*"],
      paused: false,
      pending: 1,
    });
    expect(actions[1]).toMatchObject({ events: ["user.created"], paused: true, reason: "operator" });
    expect(Date.parse(String(actions[1]!.since))).toBeGreaterThan(Date.now() - 60_000);

    const text = await cli("actions", "list");
    expect(text.stdout).toMatch(
      /^slack\s+@switchyard\/plugin-slack\s+user\.created\s+paused \(operator since /m,
    );
    expect(text.stdout).toMatch(/^warehouse\s+@switchyard\/plugin-http\s+\*\s+running\s+1\s+0$/m);

    expect((await cli("actions", "resume", "slack")).stdout).toContain("resumed slack");
    const store = await openStore(await loadStateConfig(config, {}));
    try {
      expect((await store.actionStates()).slack?.paused).toBe(false);
    } finally {
      await store.close();
    }
  }, 60_000);

  it("send-test needs only the state setting too", async () => {
    const sent = await cli("send-test", "user.created");
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/queued test event evt_\w+ \(user\.created\) for: warehouse, slack/);
  }, 30_000);

  it("audit lists every change the commands made, as cli:<user>@<host>, newest first; dry runs are not changes", async () => {
    const result = await cli("audit", "--json");
    expect(result.code, result.stderr).toBe(0);
    const entries = JSON.parse(result.stdout) as Array<{
      actor: string;
      operation: string;
      selection: Record<string, unknown>;
      result: Record<string, unknown>;
      at: string;
    }>;
    const me = `cli:${userInfo().username}@${hostname()}`;
    expect(new Set(entries.map((e) => e.actor))).toEqual(new Set([me]));
    const ops = entries.map((e) => e.operation).reverse();
    // The order the tests above ran them in (the latest-wins test replays too).
    expect(ops.slice(0, 3)).toEqual(["replay", "purge", "purge"]);
    expect(ops.slice(-3)).toEqual(["pause", "resume", "send-test"]);
    const chronological = [...entries].reverse();
    expect(chronological[0]).toMatchObject({
      operation: "replay",
      selection: { type: "group.*", limit: 1 },
      result: { count: 1, refused: 0 },
    });
    expect(chronological[1]).toMatchObject({
      operation: "purge",
      selection: { action: "warehouse", since: between },
      result: { count: 2 },
    });
    expect(chronological[2]).toMatchObject({
      operation: "purge",
      selection: { all: true },
      result: { count: 3 },
    });
    expect(entries[1]).toMatchObject({ operation: "resume", selection: { action: "slack" } });
    expect(Date.parse(entries[0]!.at)).toBeGreaterThan(Date.now() - 60_000);

    const text = await cli("audit", "--limit", "2");
    expect(text.stdout.trim().split("\n")).toHaveLength(2);
    expect(text.stdout).toMatch(
      new RegExp(
        `^\\S+Z  ${me.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}  send-test  type=user\\.created  eventId=evt_`,
        "m",
      ),
    );
    expect((await cli("audit", "--since", "2999-01-01")).stdout).toBe("no operator operations recorded\n");
    expect((await cli("audit", "--since", "yesterday")).code).toBe(2);
  }, 30_000);

  it("the full loader (validate, start) still needs every variable", async () => {
    await expect(loadConfig(config, {})).rejects.toThrow(/STATE_TEST_AUTH0_DOMAIN is not set/);
  });
});

// Two tenants, an action for each and one for both; no credential is set.
const TENANTS_CONFIG = `sources:
  - tenant: prod
    auth0: { domain: "\${STATE_TEST_PROD_DOMAIN}", token: "\${STATE_TEST_PROD_TOKEN}" }
  - tenant: dev
    auth0: { domain: "\${STATE_TEST_DEV_DOMAIN}", token: "\${STATE_TEST_DEV_TOKEN}" }
state: ./state
actions:
  - name: warehouse
    plugin: "@switchyard/plugin-http"
    events: ["*"]
    with: { url: "\${STATE_TEST_WAREHOUSE_URL}" }
  - name: signups
    plugin: "@switchyard/plugin-http"
    tenants: [prod]
    events: ["user.created"]
    with: { url: "\${STATE_TEST_SIGNUPS_URL}" }
  - name: staging
    plugin: "@switchyard/plugin-http"
    tenants: [dev]
    events: ["*"]
    with: { url: "\${STATE_TEST_STAGING_URL}" }
`;

describe("switchyard actions and dlq with `sources` (several tenants)", () => {
  let tenantsDir: string;
  let tenantsConfig: string;
  let prodDead: string[];
  let devDead: string[];
  const run = (...args: string[]) => cliWith(tenantsConfig, args);

  beforeAll(async () => {
    tenantsDir = mkdtempSync(join(tmpdir(), "switchyard-state-tenants-"));
    tenantsConfig = join(tenantsDir, "switchyard.yaml");
    writeFileSync(tenantsConfig, TENANTS_CONFIG);
    const store = await openStore(await loadStateConfig(tenantsConfig, {}));
    try {
      prodDead = await deadLetter(store, "warehouse", ["user.created", "user.deleted"], "prod");
      devDead = await deadLetter(store, "warehouse", ["group.created"], "dev");
      // And deliveries waiting: one of prod's events, two of dev's.
      for (const [tenant, count] of [
        ["prod", 1],
        ["dev", 2],
      ] as const) {
        const events = Array.from({ length: count }, () => factory.event("user.updated"));
        const deliveries = [{ action: "warehouse", orderKey: null, held: false }];
        await store.ingest(
          events.map((event) => ({ event, payload: JSON.stringify(event), deliveries })),
          undefined,
          tenant,
        );
      }
    } finally {
      await store.close();
    }
  }, 30_000);
  afterAll(() => rmSync(tenantsDir, { recursive: true, force: true }));

  it("actions list shows each action's tenants, and --tenant lists only the actions that take its events, with that tenant's pending deliveries and dead letters", async () => {
    const all = await run("actions", "list", "--json");
    expect(all.code, all.stderr).toBe(0);
    const tenantsOf = (stdout: string) =>
      (JSON.parse(stdout) as Array<{ name: string; tenants: string[] }>).map((a) => [a.name, a.tenants]);
    expect(tenantsOf(all.stdout)).toEqual([
      ["warehouse", ["prod", "dev"]],
      ["signups", ["prod"]],
      ["staging", ["dev"]],
    ]);
    const dev = await run("actions", "list", "--json", "--tenant", "dev");
    expect(tenantsOf(dev.stdout)).toEqual([
      ["warehouse", ["prod", "dev"]],
      ["staging", ["dev"]],
    ]);
    const countsOf = (stdout: string) =>
      (JSON.parse(stdout) as Array<{ name: string; pending: number; dead: number }>).map((a) => [
        a.name,
        a.pending,
        a.dead,
      ]);
    expect(countsOf(all.stdout)[0]).toEqual(["warehouse", 3, 3]);
    expect(countsOf(dev.stdout)).toEqual([
      ["warehouse", 2, 1],
      ["staging", 0, 0],
    ]);

    const text = await run("actions", "list", "--tenant", "prod");
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ACTION +PLUGIN +TENANTS +EVENTS +STATE +PENDING +DEAD$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^warehouse +@switchyard\/plugin-http +prod,dev +\* +running +1 +2$/),
      expect.stringMatching(/^signups +@switchyard\/plugin-http +prod +user\.created +running +0 +0$/),
    ]);

    const typo = await run("actions", "list", "--tenant", "prd");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown tenant "prd"');
    expect(typo.stderr).toContain('"prod", "dev"');
    expect(typo.stdout).toBe("");
  }, 60_000);

  it("a single `source`'s list has no tenants: every action takes the one tenant", async () => {
    const list = await cli("actions", "list", "--json");
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)[0]).not.toHaveProperty("tenants");
    expect((await cli("actions", "list")).stdout).not.toContain("TENANTS");
    expect((await cli("actions", "list", "--tenant", "default")).code).toBe(0);
  }, 30_000);

  it("dlq list --tenant lists only that tenant's dead letters, and says whose each one is", async () => {
    const listOf = async (...args: string[]) => {
      const result = await run("dlq", "list", "--json", ...args);
      expect(result.code, result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as Array<{ eventId: string; tenant: string }>).map((d) => [
        d.tenant,
        d.eventId,
      ]);
    };
    expect(await listOf()).toEqual([
      ...prodDead.map((id) => ["prod", id]),
      ...devDead.map((id) => ["dev", id]),
    ]);
    expect(await listOf("--tenant", "dev")).toEqual(devDead.map((id) => ["dev", id]));
    expect(await listOf("--tenant", "prod", "--type", "user.deleted")).toEqual([["prod", prodDead[1]]]);

    const text = await run("dlq", "list", "--tenant", "dev");
    expect(text.stdout).toContain(`  warehouse  dev  group.created  ${devDead[0]}  attempts=1`);
    expect(text.stdout).not.toContain(prodDead[0]);

    const typo = await run("dlq", "list", "--tenant", "staging");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown tenant "staging"');
  }, 60_000);
});

describe("switchyard actions forget", () => {
  it("lists an action no longer in the config as removed, and drops what waits for it, with a dry run first", async () => {
    // `crm` was removed from the config: a dead letter and a waiting delivery of it are still in the store.
    const store = await openStore(await loadStateConfig(config, {}));
    try {
      await deadLetter(store, "crm", ["user.created"]);
      const waiting = factory.event("user.updated");
      await store.ingest(
        [
          {
            event: waiting,
            payload: JSON.stringify(waiting),
            deliveries: [{ action: "crm", orderKey: null, held: false }],
          },
        ],
        undefined,
      );
    } finally {
      await store.close();
    }
    const list = await cli("actions", "list");
    expect(list.stdout).toMatch(
      /^crm\s+-\s+-\s+removed \(not in the config: its deliveries wait for it\)\s+1\s+1$/m,
    );

    const configured = await cli("actions", "forget", "warehouse");
    expect(configured.code).toBe(2);
    const dry = await cli("actions", "forget", "crm", "--dry-run");
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe("would drop 1 delivery and 1 dead letter of crm (dry run: nothing changed)\n");
    expect((await cli("actions", "list")).stdout).toMatch(/^crm\s/m);

    const forget = await cli("actions", "forget", "crm");
    expect(forget.stdout).toBe("dropped 1 delivery and 1 dead letter of crm\n");
    expect((await cli("actions", "list")).stdout).not.toMatch(/^crm\s/m);
    expect((await cli("actions", "forget", "crm")).stdout).toBe("nothing waits in the store for crm\n");
    const audit = JSON.parse((await cli("audit", "--json")).stdout) as Array<Record<string, unknown>>;
    expect(audit[0]).toMatchObject({
      actor: `cli:${userInfo().username}@${hostname()}`,
      operation: "forget",
      selection: { action: "crm" },
      result: { count: 2 },
    });
  }, 60_000);

  it("refuses an action that is in the config, naming the file, and changes nothing", async () => {
    const run = await runCli(["actions", "forget", "slack", "--config", config]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      '"slack" is in switchyard.yaml: only an action no longer in the config can be forgotten (pause it, or purge its dead letters with `switchyard dlq purge --action slack`)',
    );
  }, 60_000);
});

describe("the real CLI process", () => {
  it("exits 2 on an unknown action, with the configured names", async () => {
    const typo = await runCli(["dlq", "replay", "--action", "nosuch", "--config", config]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe('unknown action "nosuch": switchyard.yaml configures "warehouse", "slack"');
    expect(typo.stdout).toBe("");
  }, 60_000);

  it("start --demo on a held state folder fails first, in one line, without starting the demo", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "switchyard-demo-lock-"));
    try {
      const state = join(cwd, ".switchyard", "demo");
      mkdirSync(state, { recursive: true });
      // This test process stands for the running host: it holds the state folder's lock.
      const unlock = lockStateDir(state);
      try {
        const second = await runCli(["start", "--demo"], {}, cwd);
        expect(second.code).toBe(2);
        expect(second.stderr).toBe(
          `another switchyard host (pid ${process.pid} on ${hostname()}) is using the state folder ${state}`,
        );
        expect(second.stdout).toBe("");
      } finally {
        unlock();
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 60_000);

  it("a second start on a state in use says so in one line and exits 2, before it binds any port", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "switchyard-start-lock-"));
    // A port that is taken: a host that bound its ops port before locking would fail with EADDRINUSE.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const state = join(cwd, "state");
      mkdirSync(state, { recursive: true });
      const config = join(cwd, "switchyard.yaml");
      writeFileSync(
        config,
        `source:\n  auth0: { domain: x.us.auth0.com, token: abcd1234 }\nstate: ./state\nserver: { port: ${(taken.address() as AddressInfo).port} }\nactions:\n  - { name: a, plugin: console, events: ["*"] }\n`,
      );
      const unlock = lockStateDir(state);
      try {
        const second = await runCli(["start", "--config", config], {}, cwd);
        expect(second.code).toBe(2);
        expect(second.stderr).toBe(
          `another switchyard host (pid ${process.pid} on ${hostname()}) is using the state folder ${state}`,
        );
      } finally {
        unlock();
      }
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 60_000);
});
