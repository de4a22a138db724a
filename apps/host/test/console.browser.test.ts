// The console in real Chromium against a real host on its demo (fake tenant, receiver that refuses each group
// event once): every wait is on a condition (locator waits, expect.poll), never a fixed sleep.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createEventFactory, startFakeTenant, waitFor } from "@switchyard/testing";
import { type BrowserContext, chromium, type Locator, type Page, type Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finishConfig, type LoadedConfig, loadConfig } from "../src/config/load.js";
import { DEMO_CONFIG, startDemo } from "../src/demo.js";
import { type Host, startHost } from "../src/host.js";
import { startCli } from "./cli.js";
import { memorySource } from "./memory-source.js";
import { createTestSchema, postgresAvailable } from "./postgres.js";
import { RECORDER } from "./recorder.js";

const CHROMIUM = "/usr/bin/chromium";
const RESULTS = fileURLToPath(new URL("../../../.ci/results/", import.meta.url));
const chromiumFound = existsSync(CHROMIUM);
const postgresFound = chromiumFound && (await postgresAvailable());
if (!chromiumFound) {
  if (process.env.CI === "true") throw new Error(`Chromium is required in CI and is missing at ${CHROMIUM}`);
  console.warn(`skipping the console's browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

interface DemoHost {
  base: string;
  /** GET an /api path as the page would, with the admin token when there is one. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

const running: DemoHost[] = [];
const dirs: string[] = [];

function demoHost(base: string, adminToken: string | undefined, stop: () => Promise<void>): DemoHost {
  const host: DemoHost = {
    base,
    async api<T>(path: string) {
      const headers: Record<string, string> = adminToken ? { authorization: `Bearer ${adminToken}` } : {};
      const response = await fetch(`${base}/api/${path}`, { headers });
      if (!response.ok) throw new Error(`GET /api/${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    },
    stop,
  };
  running.push(host);
  return host;
}

/** `switchyard start --demo` (a child process, its state in a fresh folder) on a free port, read back. */
async function startDemoCli(): Promise<DemoHost> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-console-"));
  dirs.push(dir);
  const cli = startCli(["start", "--demo"], { SWITCHYARD_DEMO_PORT: "0", SWITCHYARD_DEMO_RATE: "5" }, dir);
  const base = await waitFor(
    () => cli.stderr.map((line) => /Metrics: curl (http:\/\/\S+)\/metrics/.exec(line)?.[1]).find(Boolean),
    { timeoutMs: 20_000, message: "the demo's ops server address on stderr" },
  );
  return demoHost(base, undefined, async () => {
    cli.child.kill("SIGTERM");
    await cli.exited;
  });
}

/**
 * The demo in this process, changed by `change` (an admin token, another action): its config has neither.
 */
async function startChangedDemo(
  change: (loaded: LoadedConfig, dir: string) => void,
  adminToken?: string,
): Promise<DemoHost> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-console-"));
  dirs.push(dir);
  const demo = await startDemo({ stateDir: dir, eventsPerSecond: 1 });
  const loaded = await loadConfig(DEMO_CONFIG, { ...process.env, ...demo.env, SWITCHYARD_DEMO_PORT: "0" });
  change(loaded, dir);
  const logs = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  let host: Host;
  try {
    host = await startHost(loaded, { logDestination: logs });
  } catch (error) {
    await demo.close();
    throw error;
  }
  return demoHost(`http://127.0.0.1:${host.port}`, adminToken, async () => {
    await host.stop();
    await demo.close();
  });
}

/** The demo with an admin token, which its config does not set. */
const startGuardedDemo = (adminToken: string) =>
  startChangedDemo((loaded) => {
    loaded.config.server.adminToken = adminToken;
  }, adminToken);

const VIEWER = "console-viewer-token-0123456789";
const OPERATOR = "console-operator-token-0123456789";

/** The demo with a viewer's and an operator's token; its `api` reads as the operator. */
const startDemoWithRoles = () =>
  startChangedDemo((loaded) => {
    loaded.config.server.adminTokens = [
      { name: "vic", token: VIEWER, role: "viewer" },
      { name: "olga", token: OPERATOR, role: "operator" },
    ];
  }, OPERATOR);

/** Give the token form a token, as a person would. */
async function signIn(page: Page, token: string): Promise<void> {
  const form = page.getByRole("form", { name: "Admin token" });
  await form.getByLabel("Token").fill(token);
  await form.getByRole("button", { name: "Use token" }).click();
}

/** A host in this process whose one action has latestWins, fed by a memory stream. */
async function startLatestWinsHost() {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-console-"));
  dirs.push(dir);
  const source = memorySource();
  const loaded = finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
      state: join(dir, "state"),
      server: { port: 0 },
      actions: [
        {
          name: "sync",
          plugin: RECORDER,
          events: ["user.*"],
          with: { id: "console-sync", permanentTypes: ["user.created"] },
          latestWins: true,
        },
      ],
    },
    join(dir, "switchyard.yaml"),
    {},
  );
  const logs = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const host = await startHost(loaded, { source, logDestination: logs });
  return { source, ...demoHost(`http://127.0.0.1:${host.port}`, undefined, () => host.stop()) };
}

/**
 * A host in this process fed by `source` with `actions` (recorders), on the state in `dir`: start it again
 * with other actions on the same state to see what a changed config leaves behind.
 */
async function startRecordersHost(
  dir: string,
  source: ReturnType<typeof memorySource>,
  actions: Array<{ name: string; with?: Record<string, unknown> }>,
) {
  const loaded = finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
      state: join(dir, "state"),
      server: { port: 0 },
      actions: actions.map((a) => ({
        name: a.name,
        plugin: RECORDER,
        events: ["*"],
        with: { id: `console-${a.name}`, ...a.with },
      })),
    },
    join(dir, "switchyard.yaml"),
    {},
  );
  const logs = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const host = await startHost(loaded, { source, logDestination: logs });
  return demoHost(`http://127.0.0.1:${host.port}`, undefined, () => host.stop());
}

/**
 * A host in this process with three tenants (`sources`): prod read from a memory stream, dev from a fake
 * tenant, stage only through a webhook. `strict` takes every tenant's events and dead-letters group events.
 */
async function startTenantsHost() {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-console-"));
  dirs.push(dir);
  const prod = memorySource();
  const dev = await startFakeTenant();
  const recorder = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    plugin: RECORDER,
    events: ["*"],
    with: { id: `console-tenants-${name}` },
    ...extra,
  });
  const loaded = finishConfig(
    {
      sources: [
        { tenant: "prod", auth0: { domain: "unused.example", token: "t0ken-secret" } },
        { tenant: "dev", auth0: { domain: dev.url, token: dev.token } },
        {
          tenant: "stage",
          webhook: { port: 0, path: "/auth0/stage", auth: { bearer: "stage-hook-token-0123456789" } },
        },
      ],
      state: join(dir, "state"),
      server: { port: 0 },
      actions: [
        recorder("strict", { with: { id: "console-tenants-strict", permanentTypes: ["group.created"] } }),
        recorder("signups", { tenants: ["prod"], events: ["user.created"] }),
        recorder("staging", { tenants: ["dev", "stage"] }),
      ],
    },
    join(dir, "switchyard.yaml"),
    {},
  );
  const logs = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  let host: Host;
  try {
    host = await startHost(loaded, { source: prod, logDestination: logs });
  } catch (error) {
    await dev.close();
    throw error;
  }
  // Without a cursor a stream starts at its newest event: the fake's events are appended once it is read.
  await waitFor(() => dev.liveConnections === 1, { message: "the dev tenant's stream connected" });
  const base = `http://127.0.0.1:${host.port}`;
  return {
    prod,
    dev,
    ...demoHost(base, undefined, async () => {
      await host.stop();
      await dev.close();
    }),
  };
}

let browser: BrowserContext;
let demo: DemoHost;

beforeAll(async () => {
  if (!chromiumFound) return;
  mkdirSync(RESULTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
  dirs.push(profile);
  [browser, demo] = await Promise.all([
    chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
      viewport: { width: 1280, height: 860 },
    }),
    startDemoCli(),
  ]);
  // A locator that never matches fails with Playwright's own message, before the test's time is up.
  browser.setDefaultTimeout(10_000);
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(running.map((host) => host.stop()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Each open tab's script errors and console errors (a CSP violation is one). */
const problems = new WeakMap<Page, string[]>();

/**
 * A new tab, with its own sessionStorage; the `refusals` (statuses, e.g. 403) the test provokes on purpose
 * are not problems.
 */
/** The texts of one column of a table's body rows, found by its header. */
async function columnCells(table: Locator, header: string): Promise<string[]> {
  const column = (await table.locator("thead th").allTextContents()).indexOf(header);
  return table.locator(`tbody tr td:nth-child(${column + 1})`).allTextContents();
}

async function openPage(url: string, refusals: readonly number[] = []): Promise<Page> {
  const page = await browser.newPage();
  const seen: string[] = [];
  problems.set(page, seen);
  page.on("pageerror", (error) => seen.push(error.message));
  const expected = new RegExp(`status of (${[401, ...refusals].join("|")})`);
  page.on("console", (message) => {
    // The browser logs each 401 that asks for the admin token: that one is expected.
    if (message.type() === "error" && !expected.test(message.text())) seen.push(message.text());
  });
  await page.goto(url);
  return page;
}

/** Close a tab that had no script error, and no CSP violation. */
async function closePage(page: Page): Promise<void> {
  await page.close();
  expect(problems.get(page)).toEqual([]);
}

const screenshot = (page: Page, name: string) =>
  page.screenshot({ path: join(RESULTS, `console-${name}.png`), fullPage: true });

interface Attempt {
  action: string;
  eventId: string;
  outcome: string;
}

describe.skipIf(!chromiumFound)("console in Chromium", () => {
  it("shows deliveries live in the table, without a reload", async () => {
    const page = await openPage(`${demo.base}/#/deliveries`);
    const rows = page.getByRole("table", { name: "Deliveries" }).locator("tbody tr");
    await rows.first().waitFor();
    const first = await rows.first().textContent();
    // A reload would lose this mark.
    await page.evaluate("window.notReloaded = true");
    await expect.poll(() => rows.first().textContent(), { timeout: 10_000 }).not.toBe(first);
    expect(await page.evaluate("window.notReloaded")).toBe(true);
    await rows.getByRole("link").first().waitFor();
    // A single `source` is the one tenant `default`: no Tenant column, no tenant filter.
    expect(await page.getByRole("columnheader", { name: "Tenant" }).count()).toBe(0);
    expect(await page.getByLabel("Tenant").count()).toBe(0);
    await screenshot(page, "deliveries");
    await closePage(page);
  });

  it("replays a dead letter found by its event id; the event's page then shows it delivered", async () => {
    const deadLetters = () =>
      demo.api<{ items: Array<{ action: string; eventId: string }> }>("dead-letters?action=warehouse");
    await expect.poll(async () => (await deadLetters()).items.length, { timeout: 15_000 }).toBeGreaterThan(0);
    const { eventId } = (await deadLetters()).items[0]!;

    const page = await openPage(`${demo.base}/#/dead-letters`);
    await page.getByRole("table", { name: "Dead letters" }).waitFor();
    // A single `source` is the one tenant `default`: no Tenant column, no tenant filter.
    expect(await page.getByRole("columnheader", { name: "Tenant" }).count()).toBe(0);
    expect(await page.getByLabel("Tenant").count()).toBe(0);
    await screenshot(page, "dead-letters");
    await page.getByLabel("Event id").fill(eventId);
    await page.getByRole("button", { name: "Apply" }).click();
    const replay = page.getByRole("button", { name: `Replay warehouse ${eventId}` });
    await replay.click();
    await page.getByRole("status").filter({ hasText: "Replayed 1 dead letter" }).waitFor();

    await page.goto(`${demo.base}/#/events/${encodeURIComponent(eventId)}`);
    const attempts = page.getByRole("table", { name: "Attempts" });
    await attempts
      .getByRole("row")
      .filter({ hasText: "warehouse" })
      .filter({ hasText: "delivered" })
      .waitFor({ timeout: 15_000 });
    const event = await demo.api<{ attempts: Attempt[] }>(`events/${encodeURIComponent(eventId)}`);
    expect(event.attempts.filter((a) => a.action === "warehouse").map((a) => a.outcome)).toContain(
      "delivered",
    );
    await screenshot(page, "event");
    await closePage(page);
  });

  it("shows on the event's page what a file action printed during each attempt", async () => {
    // The demo's welcome action is Auth0 code that calls console.log for each signup.
    const welcomed = () => demo.api<{ items: Attempt[] }>("deliveries?action=welcome&outcome=delivered");
    await expect.poll(async () => (await welcomed()).items.length, { timeout: 15_000 }).toBeGreaterThan(0);
    const { eventId } = (await welcomed()).items[0]!;
    const event = await demo.api<{ attempts: Array<Attempt & { logs?: Array<{ message: string }> }> }>(
      `events/${encodeURIComponent(eventId)}`,
    );
    const printed = event.attempts.find((a) => a.action === "welcome")?.logs?.[0]?.message;
    // Its greeting is one of the action's secrets: redacted in what is kept, as in the host's log.
    expect(printed).toMatch(/^\[redacted\], .+! \(signup #\d+ today\)$/);

    const page = await openPage(`${demo.base}/#/events/${encodeURIComponent(eventId)}`);
    const lines = page.getByRole("region", { name: "Console of welcome, attempt 1" });
    await lines.getByText(printed!).waitFor();
    expect(await lines.locator("li .level").first().textContent()).toBe("info");
    await screenshot(page, "event-console");
    await closePage(page);
  });

  it("refuses a dead letter its subject has outgrown, says why, and replays it anyway when asked", async () => {
    const host = await startLatestWinsHost();
    const factory = createEventFactory({ seed: 29 });
    const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
    const created = factory.event("user.created", { time: at(1), object: { user_id: "auth0|c" } });
    const updated = factory.event("user.updated", { time: at(2), object: { user_id: "auth0|c" } });
    host.source.push(created, updated);
    await expect
      .poll(async () => (await host.api<{ total: number }>("dead-letters")).total, { timeout: 15_000 })
      .toBe(1);
    await expect
      .poll(async () => (await host.api<{ attempts: Attempt[] }>(`events/${updated.id}`)).attempts.length)
      .toBe(1);

    const page = await openPage(`${host.base}/#/dead-letters`);
    await page.getByRole("button", { name: `Replay sync ${created.id}` }).click();
    await page.getByRole("status").filter({ hasText: "Replayed 0 dead letters" }).waitFor();
    const ask = page.getByRole("alertdialog", { name: "Replay anyway" });
    await ask.getByText(`replaying ${created.id} would undo it`).waitFor();
    await screenshot(page, "replay-anyway");
    expect((await host.api<{ total: number }>("dead-letters")).total).toBe(1);
    await ask.getByRole("button", { name: "Replay anyway" }).click();
    await page.getByRole("status").filter({ hasText: "Replayed 1 dead letter anyway." }).waitFor();
    await closePage(page);
  });

  it("with several tenants, shows each dead letter's tenant and filters by it", async () => {
    const host = await startTenantsHost();
    const factory = createEventFactory({ seed: 31 });
    const prodGroups = [factory.event("group.created"), factory.event("group.created")];
    const devGroup = factory.event("group.created");
    host.prod.push(...prodGroups);
    host.dev.append(devGroup);
    await expect
      .poll(async () => (await host.api<{ total: number }>("dead-letters")).total, { timeout: 15_000 })
      .toBe(3);

    const page = await openPage(`${host.base}/#/dead-letters`);
    const table = page.getByRole("table", { name: "Dead letters" });
    const rows = table.locator("tbody tr");
    await rows.nth(2).waitFor();
    await table.getByRole("columnheader", { name: "Tenant" }).waitFor();
    const tenantCells = () => columnCells(table, "Tenant");
    expect((await tenantCells()).sort()).toEqual(["dev", "prod", "prod"]);
    const filter = page.getByRole("form", { name: "Filter dead letters" });
    const tenant = filter.getByLabel("Tenant");
    expect(await tenant.locator("option").allTextContents()).toEqual(["any", "prod", "dev", "stage"]);
    await screenshot(page, "tenants-dead-letters");

    await tenant.selectOption("dev");
    await filter.getByRole("button", { name: "Apply" }).click();
    await page.getByText("1 dead letter match.").waitFor();
    expect(await tenantCells()).toEqual(["dev"]);
    await rows.getByRole("link", { name: devGroup.id }).waitFor();
    expect(page.url()).toContain("tenant=dev");

    await page.getByRole("form", { name: "Filter dead letters" }).getByLabel("Tenant").selectOption("prod");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText("2 dead letters match.").waitFor();
    expect(await tenantCells()).toEqual(["prod", "prod"]);
    // One dead letter replayed by its tenant, action and id (ids are unique within a tenant only).
    await page.getByRole("button", { name: `Replay strict prod ${prodGroups[0]!.id}` }).click();
    await page.getByRole("status").filter({ hasText: "Replayed 1 dead letter" }).waitFor();
    const audit = await host.api<{ items: Array<{ operation: string; selection: unknown }> }>("audit");
    expect(audit.items[0]).toMatchObject({
      operation: "replay",
      selection: { action: "strict", tenant: "prod", eventId: prodGroups[0]!.id },
    });
    await closePage(page);
  });

  it("with several tenants, shows each delivery's tenant, filters by it, and opens the tenant's event of an id two share", async () => {
    const host = await startTenantsHost();
    const factory = createEventFactory({ seed: 33 });
    const shared = "evt_consoleSharedByProdAndDev";
    // prod's goes to strict; dev's to strict and staging (signups takes prod's user.created only).
    host.prod.push(factory.event("user.updated", { id: shared }));
    host.dev.append(factory.event("organization.updated", { id: shared }));
    await expect
      .poll(async () => (await host.api<{ items: unknown[] }>("deliveries")).items.length, {
        timeout: 15_000,
      })
      .toBe(3);

    // The event page without a tenant is refused (409), on purpose, at the end.
    const page = await openPage(`${host.base}/#/deliveries`, [409]);
    const table = page.getByRole("table", { name: "Deliveries" });
    const rows = table.locator("tbody tr");
    await rows.nth(2).waitFor();
    await table.getByRole("columnheader", { name: "Tenant" }).waitFor();
    const tenantCells = () => columnCells(table, "Tenant");
    expect((await tenantCells()).sort()).toEqual(["dev", "dev", "prod"]);
    const filter = page.getByRole("form", { name: "Filter deliveries" });
    const tenant = filter.getByLabel("Tenant");
    expect(await tenant.locator("option").allTextContents()).toEqual(["any", "prod", "dev", "stage"]);
    await screenshot(page, "tenants-deliveries");

    await tenant.selectOption("prod");
    await filter.getByRole("button", { name: "Apply" }).click();
    await expect.poll(tenantCells).toEqual(["prod"]);
    expect(page.url()).toContain("tenant=prod");
    await page.getByRole("form", { name: "Filter deliveries" }).getByLabel("Tenant").selectOption("dev");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(tenantCells).toEqual(["dev", "dev"]);

    // The row's link names its tenant: the event page shows dev's event of the shared id.
    await rows.first().getByRole("link", { name: shared }).click();
    await expect.poll(() => page.url()).toContain(`/events/${shared}?tenant=dev`);
    const facts = page.locator("dl.facts");
    await facts.getByText("organization.updated").waitFor();
    await facts.getByText("dev", { exact: true }).waitFor();
    expect(await page.getByRole("table", { name: "Attempts" }).locator("tbody tr").count()).toBe(2);
    // Without a tenant, the page says which tenants have the id.
    await page.goto(`${host.base}/#/events/${shared}`);
    await page.getByRole("alert").filter({ hasText: "several tenants (dev, prod)" }).waitFor();
    await closePage(page);
  });

  it("with several tenants, shows each tenant's stream and each action's tenants, and filters the actions and their numbers", async () => {
    const host = await startTenantsHost();
    // strict takes every tenant's events: two of prod's, two of dev's, whose group event it dead-letters.
    const factory = createEventFactory({ seed: 47 });
    host.prod.push(factory.event("user.created"), factory.event("user.created"));
    host.dev.append([factory.event("user.created"), factory.event("group.created")]);
    const strictHour = async () => {
      const { actions } = await host.api<{
        actions: Array<{ name: string; lastHour: { delivered: number; dead: number } }>;
      }>("actions");
      const hour = actions.find((a) => a.name === "strict")?.lastHour;
      return hour && [hour.delivered, hour.dead];
    };
    await expect.poll(strictHour, { timeout: 15_000 }).toEqual([3, 1]);
    const page = await openPage(`${host.base}/`);
    const tenants = page.getByRole("region", { name: "Stream" }).getByRole("table", { name: "Tenants" });
    const row = (tenant: string) => tenants.getByRole("row").filter({ hasText: tenant });
    await row("prod").getByText("connected", { exact: true }).waitFor();
    await row("dev").getByText("connected", { exact: true }).waitFor();
    await row("stage")
      .getByText(/^http:\/\/127\.0\.0\.1:\d+\/auth0\/stage$/)
      .waitFor();
    expect(await row("stage").getByText("connected", { exact: true }).count()).toBe(0);
    const tenantsOf = (action: string) =>
      page
        .getByRole("list", { name: `Tenants of ${action}` })
        .getByRole("listitem")
        .allTextContents();
    expect(await tenantsOf("strict")).toEqual(["prod", "dev", "stage"]);
    expect(await tenantsOf("signups")).toEqual(["prod"]);
    expect(await tenantsOf("staging")).toEqual(["dev", "stage"]);
    // The strict tile's numbers: every tenant's, then, filtered, only the tenant's.
    const strict = page.getByRole("region", { name: "Action strict" });
    const lastHour = () =>
      strict
        .locator("div", { has: page.locator("dt", { hasText: "Last hour" }) })
        .locator("dd")
        .textContent();
    const attemptsCaption = () => strict.locator("figcaption").first().textContent();
    // The dead letters' number and its link to them: the tenant's, once filtered.
    const deadLetters = async () => {
      const link = strict
        .locator("div", { has: page.locator("dt", { hasText: "Dead letters" }) })
        .getByRole("link");
      return [await link.textContent(), await link.getAttribute("href")];
    };
    await expect.poll(lastHour).toBe("3 delivered, 1 failed (25.0%)");
    await expect.poll(deadLetters).toEqual(["1", "#/dead-letters?action=strict"]);
    await screenshot(page, "tenants-overview");

    const filter = page.getByRole("form", { name: "Filter actions" });
    const tiles = page.locator("section.tile");
    const tileNames = () => tiles.evaluateAll((all) => all.map((tile) => tile.getAttribute("aria-label")));
    await filter.getByLabel("Tenant").selectOption("prod");
    await filter.getByRole("button", { name: "Apply" }).click();
    await expect.poll(tileNames).toEqual(["Action strict", "Action signups"]);
    await expect.poll(lastHour).toBe("2 delivered, 0 failed (0.0%)");
    await expect.poll(deadLetters).toEqual(["0", "#/dead-letters?action=strict&tenant=prod"]);

    await filter.getByLabel("Tenant").selectOption("stage");
    await filter.getByRole("button", { name: "Apply" }).click();
    await expect.poll(tileNames).toEqual(["Action strict", "Action staging"]);
    expect(page.url()).toContain("tenant=stage");
    // stage sent nothing: its minutes are empty too, not every tenant's.
    await expect.poll(lastHour).toBe("0 delivered, 0 failed (–)");
    await expect.poll(attemptsCaption).toBe("attempts/min (max 0)");
    await expect.poll(deadLetters).toEqual(["0", "#/dead-letters?action=strict&tenant=stage"]);

    await filter.getByLabel("Tenant").selectOption("dev");
    await filter.getByRole("button", { name: "Apply" }).click();
    await expect.poll(lastHour).toBe("1 delivered, 1 failed (50.0%)");
    await expect.poll(deadLetters).toEqual(["1", "#/dead-letters?action=strict&tenant=dev"]);
    await closePage(page);
  });

  it("pauses an action from its tile and resumes it", async () => {
    const page = await openPage(`${demo.base}/`);
    const tile = page.getByRole("region", { name: "Action warehouse" });
    const state = async () =>
      (await demo.api<{ actions: Array<{ name: string; state: string }> }>("actions")).actions.find(
        (a) => a.name === "warehouse",
      )?.state;

    await tile.getByRole("button", { name: "Pause warehouse" }).click();
    await tile.getByText("paused", { exact: true }).waitFor();
    expect(await state()).toBe("paused");

    await tile.getByRole("button", { name: "Resume warehouse" }).click();
    await tile.getByText("running", { exact: true }).waitFor();
    expect(await state()).toBe("running");
    await page.getByRole("region", { name: "Stream" }).getByText("yes").first().waitFor();
    await screenshot(page, "overview");
    await closePage(page);
  });

  it("shows an action the host could not start as failed, with the reason, and no pause button", async () => {
    const broken = await startChangedDemo((loaded, dir) => {
      const file = join(dir, "crm.js");
      writeFileSync(file, 'throw new Error("CRM_URL is not set");\n');
      const welcome = loaded.config.actions.find((a) => a.name === "welcome")!;
      loaded.config.actions.push({ ...welcome, name: "crm", plugin: file, secrets: {} });
    });
    const page = await openPage(`${broken.base}/`);
    const tile = page.getByRole("region", { name: "Action crm" });
    await tile.getByText("failed", { exact: true }).waitFor();
    await tile.getByRole("alert").filter({ hasText: "CRM_URL is not set" }).waitFor();
    expect(await tile.getByRole("button").count()).toBe(0);
    // The others run.
    await page
      .getByRole("region", { name: "Action warehouse" })
      .getByText("running", { exact: true })
      .waitFor();
    await screenshot(page, "overview-failed");
    await closePage(page);
  });

  it("shows an action no longer in the config whose dead letters wait, with no pause button", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-console-"));
    dirs.push(dir);
    const source = memorySource();
    // `crm` dead-letters what it gets; the config then renames it (`crm-eu`).
    const before = await startRecordersHost(dir, source, [
      { name: "crm", with: { permanentTypes: ["user.created"] } },
    ]);
    source.push(createEventFactory({ seed: 53 }).event("user.created"));
    await waitFor(
      async () =>
        (await before.api<{ actions: Array<{ deadLetters: number }> }>("actions")).actions[0]?.deadLetters ===
        1,
    );
    await before.stop();
    const after = await startRecordersHost(dir, source, [{ name: "crm-eu" }]);
    try {
      const page = await openPage(`${after.base}/`);
      const tile = page.getByRole("region", { name: "Action crm", exact: true });
      await tile.getByText("removed", { exact: true }).waitFor();
      await tile
        .getByRole("alert")
        .filter({
          hasText:
            "Not in the config (removed or renamed): 0 deliveries and 1 dead letter of it wait in the store",
        })
        .waitFor();
      expect(await tile.getByRole("button").count()).toBe(0);
      await page
        .getByRole("region", { name: "Action crm-eu" })
        .getByText("running", { exact: true })
        .waitFor();
      await closePage(page);
    } finally {
      await after.stop();
    }
  });

  it("shows a rate-limited action as such, and an open circuit breaker", async () => {
    // A port nothing listens on: every attempt is refused at once, a fault for the breaker.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const paced = await startChangedDemo((loaded) => {
      const welcome = loaded.config.actions.find((a) => a.name === "welcome")!;
      welcome.rateLimit = { perMinute: 30, burst: 1 };
      loaded.config.actions.push({
        ...welcome,
        name: "down",
        plugin: "@switchyard/plugin-http",
        events: ["*"],
        with: { url: `http://127.0.0.1:${port}/in` },
        secrets: {},
        rateLimit: undefined,
        circuitBreaker: { failures: 1, coolDownMs: 600_000 },
      });
    });
    const page = await openPage(`${paced.base}/`);
    await page.getByRole("region", { name: "Action welcome" }).getByText("rate-limited 30/min").waitFor();
    const down = page.getByRole("region", { name: "Action down" });
    await down.getByRole("status").filter({ hasText: "circuit open" }).waitFor({ timeout: 20_000 });
    await down.getByText(/Circuit breaker open: after 1 consecutive failures/).waitFor();
    // This host's breaker, as recorded in the state for every replica's console: open until its cool-down ends.
    await down
      .getByRole("list", { name: "Circuit breakers of down" })
      .getByText(/^open until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d on replica \S+$/)
      .waitFor();
    await screenshot(page, "overview-paced");
    await closePage(page);
  });

  it("asks for the admin token when the server has one, then works with it", async () => {
    const token = "console-test-admin-token";
    const guarded = await startGuardedDemo(token);
    const page = await openPage(`${guarded.base}/`);
    const form = page.getByRole("form", { name: "Admin token" });
    await form.getByLabel("Token").fill(token);
    await form.getByRole("button", { name: "Use token" }).click();
    await page.getByRole("region", { name: "Action warehouse" }).waitFor();
    expect(page.url()).not.toContain(token);
    expect(await page.evaluate('sessionStorage.getItem("switchyard.adminToken")')).toBe(token);
    await closePage(page);
  });

  it("knows it needs a token before any 401; a viewer sees no change button, and a forced change gets 403", async () => {
    const guarded = await startDemoWithRoles();
    // Every response of the tab from its first request on (the context hears them all).
    const refused: string[] = [];
    const listen = (response: Response) => {
      if (response.status() === 401) refused.push(response.url());
    };
    browser.on("response", listen);
    const tab = await openPage(`${guarded.base}/`, [403]);
    await tab.getByRole("form", { name: "Admin token" }).waitFor();
    browser.off("response", listen);
    // whoami told the page: it asked nothing that the server refused.
    expect(refused).toEqual([]);
    await signIn(tab, VIEWER);
    await tab.getByText("Signed in as vic (viewer)").waitFor();
    const tile = tab.getByRole("region", { name: "Action warehouse" });
    await tile.getByText("running", { exact: true }).waitFor();
    expect(await tile.getByRole("button").count()).toBe(0);

    // Dead letters: listed, without a replay or purge button.
    await waitFor(async () => (await guarded.api<{ total: number }>("dead-letters")).total > 0, {
      timeoutMs: 20_000,
      message: "a dead letter in the demo",
    });
    await tab.goto(`${guarded.base}/#/dead-letters`);
    await tab.getByRole("table", { name: "Dead letters" }).locator("tbody tr").first().waitFor();
    expect(await tab.getByRole("button", { name: /Replay|Purge/ }).count()).toBe(0);
    await screenshot(tab, "viewer-dead-letters");

    // A change forced from the page, with the viewer's token, is refused and changes nothing.
    expect(await tab.evaluate('sessionStorage.getItem("switchyard.adminToken")')).toBe(VIEWER);
    const forced = await tab.evaluate(async (token) => {
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const pause = await fetch("/api/actions/warehouse/pause", { method: "POST", headers, body: "{}" });
      const purge = await fetch("/api/dead-letters/purge", {
        method: "POST",
        headers,
        body: JSON.stringify({ all: true }),
      });
      return [pause.status, purge.status];
    }, VIEWER);
    expect(forced).toEqual([403, 403]);
    const actions = await guarded.api<{ actions: Array<{ name: string; state: string }> }>("actions");
    expect(actions.actions.find((a) => a.name === "warehouse")?.state).toBe("running");
    expect((await guarded.api<{ items: unknown[] }>("audit")).items).toEqual([]);
    await closePage(tab);
  });

  it("lists on the audit page each change an operator made, under the token's name", async () => {
    const guarded = await startDemoWithRoles();
    const page = await openPage(`${guarded.base}/`);
    await signIn(page, OPERATOR);
    await page.getByText("Signed in as olga (operator)").waitFor();
    const tile = page.getByRole("region", { name: "Action warehouse" });
    // Per-action latency over the hour, once the demo delivered something.
    await tile.getByText(/^p50 \d+ ms · p99 \d+ ms$/).waitFor({ timeout: 20_000 });
    await tile.getByRole("button", { name: "Pause warehouse" }).click();
    await tile.getByText("paused", { exact: true }).waitFor();
    await tile.getByRole("button", { name: "Resume warehouse" }).click();
    await tile.getByText("running", { exact: true }).waitFor();

    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Audit log" }).click();
    const rows = page.getByRole("table", { name: "Audit log" }).locator("tbody tr");
    await rows.nth(1).waitFor();
    expect(await rows.count()).toBe(2);
    const cells = async (n: number) => (await rows.nth(n).locator("td").allTextContents()).slice(1);
    expect(await cells(0)).toEqual(["olga", "resume", "action=warehouse", "wasPaused=true"]);
    expect(await cells(1)).toEqual(["olga", "pause", "action=warehouse", "wasPaused=false"]);
    await screenshot(page, "audit");
    await closePage(page);
  });

  it.skipIf(!postgresFound)(
    "shows a standby replica as standby, in neutral colours, with the leader's name",
    async () => {
      const schema = await createTestSchema();
      const demoFakes = await startDemo({ stateDir: schema.url, eventsPerSecond: 1 });
      const logs = new Writable({ write: (_chunk, _encoding, callback) => callback() });
      const hosts: Host[] = [];
      try {
        const loaded = () =>
          loadConfig(DEMO_CONFIG, { ...process.env, ...demoFakes.env, SWITCHYARD_DEMO_PORT: "0" });
        for (const id of ["console-leader", "console-standby"]) {
          process.env.SWITCHYARD_REPLICA_ID = id;
          try {
            hosts.push(await startHost(await loaded(), { logDestination: logs }));
          } finally {
            delete process.env.SWITCHYARD_REPLICA_ID;
          }
        }
        const page = await openPage(`http://127.0.0.1:${hosts[1]!.port}/`);
        const stream = page.getByRole("region", { name: "Stream" });
        await stream.getByText("standby", { exact: true }).waitFor();
        await stream.getByText("console-leader", { exact: true }).waitFor();
        // Nothing in red: a standby without a stream of its own is healthy.
        expect(await stream.locator(".bad").count()).toBe(0);
        await screenshot(page, "standby");
        await closePage(page);
      } finally {
        await Promise.all(hosts.map((host) => host.stop()));
        await demoFakes.close();
        await schema.drop();
      }
    },
  );
});
