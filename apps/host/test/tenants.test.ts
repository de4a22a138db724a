// Tenants end to end on one host and SQLite: two fake tenants' streams and a webhook-only tenant as
// `sources`, actions that select tenants. The PostgreSQL replicas' side is faults/tenants.fault.test.ts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Auth0Event } from "@switchyard/core";
import { createEventFactory, type FakeTenant, startFakeTenant, waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { lineSink } from "./log-lines.js";
import { RECORDER, recorded } from "./recorder.js";

let dir: string;
let hosts: Host[] = [];
let tenants: FakeTenant[] = [];
let run = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-tenants-"));
  run++;
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await Promise.all(tenants.map((t) => t.close()));
  hosts = [];
  tenants = [];
  rmSync(dir, { recursive: true, force: true });
});

const HOOK_TOKEN = "hook-bearer-secret";

/** The recorder action `name`, for the `tenants` given (none: every tenant). */
function action(name: string, selected?: string[], options: Record<string, unknown> = {}) {
  return {
    name,
    plugin: RECORDER,
    events: ["*"],
    with: { id: `${run}:${name}`, ...options },
    ...(selected ? { tenants: selected } : {}),
  };
}

/** What the recorder action delivered: `a0tenant id` of each attempt that returned, as often as it did. */
const deliveredPairs = (name: string) =>
  recorded(`${run}:${name}`)
    .filter((a) => a.done)
    .map((a) => `${a.a0tenant} ${a.id}`);

const pairs = (events: readonly Auth0Event[]) => events.map((e) => `${e.a0tenant} ${e.id}`);

async function start(alpha: FakeTenant, beta: FakeTenant) {
  const logs: Array<Record<string, unknown>> = [];
  const config: SwitchyardConfigInput = {
    sources: [
      {
        tenant: "alpha",
        auth0: { domain: alpha.url, token: alpha.token, fromTimestamp: "2026-01-01T00:00:00Z" },
      },
      {
        tenant: "beta",
        auth0: { domain: beta.url, token: beta.token, fromTimestamp: "2026-01-01T00:00:00Z" },
      },
      { tenant: "hooks", webhook: { port: 0, path: "/auth0/hooks", auth: { bearer: HOOK_TOKEN } } },
    ],
    state: join(dir, "state"),
    server: { port: 0 },
    actions: [
      action("alpha-only", ["alpha"]),
      action("alpha-beta", ["alpha", "beta"]),
      action("hooks-only", ["hooks"]),
      action("everyone", undefined, { permanentTypes: ["user.deleted"] }),
      // Fails each event's first attempt: its retry is read back from the store (the claim's tenant).
      action("beta-retried", ["beta"], { failTimes: 1, retryAfterMs: 10 }),
    ],
  };
  const loaded = finishConfig(config, join(dir, "switchyard.yaml"), {});
  const sink = lineSink((line) => logs.push(JSON.parse(line) as Record<string, unknown>));
  const host = await startHost(loaded, { logDestination: sink });
  hosts.push(host);
  const listening = await waitFor(() =>
    logs.find((l) => l.msg === "webhook source listening" && l.tenant === "hooks"),
  );
  return { host, logs, webhookUrl: String(listening.url), base: `http://127.0.0.1:${host.port}` };
}

describe("tenants on one host (SQLite)", () => {
  it("delivers each tenant's events to its actions only, dedupes per tenant, refuses another tenant's webhook event, filters dead letters by tenant, and resumes each stream from its own cursor", async () => {
    const alpha = await startFakeTenant({ heartbeatMs: 60_000 });
    const beta = await startFakeTenant({ heartbeatMs: 60_000 });
    tenants.push(alpha, beta);
    const alphaEvents = createEventFactory({ seed: 31, tenant: "alpha" });
    const betaEvents = createEventFactory({ seed: 32, tenant: "beta" });
    const hookEvents = createEventFactory({ seed: 33, tenant: "hooks" });

    // The same id on both streams (and on the webhook): ids are unique per tenant, not across tenants.
    const shared = "evt_sharedByAlphaBetaHooks";
    const fromAlpha = [
      ...alphaEvents.many(12, ["user.created", "user.updated", "user.deleted"]),
      alphaEvents.event("user.created", { id: shared }),
    ];
    const fromBeta = [
      ...betaEvents.many(10, ["organization.created", "user.deleted"]),
      betaEvents.event("organization.updated", { id: shared }),
    ];
    const fromHooks = [
      ...hookEvents.many(4, ["user.created", "user.deleted"]),
      hookEvents.event("user.updated", { id: shared }),
    ];
    alpha.append(fromAlpha);
    beta.append(fromBeta);

    const { host, logs, webhookUrl, base } = await start(alpha, beta);
    const post = (event: Auth0Event, token = HOOK_TOKEN) =>
      fetch(webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(event),
      });
    for (const event of fromHooks) expect((await post(event)).status).toBe(200);
    // Another tenant's event at this tenant's path: refused, and not stored.
    const misrouted = alphaEvents.event("user.created");
    const refusal = await post(misrouted);
    expect(refusal.status).toBe(422);
    expect(await refusal.json()).toMatchObject({ error: "wrong_tenant" });
    // Auth0 retries: a webhook event again is a duplicate of its tenant.
    expect((await post(fromHooks[0]!)).status).toBe(200);

    const permanent = (e: Auth0Event) => e.type === "user.deleted";
    const wanted = {
      "alpha-only": pairs(fromAlpha),
      "alpha-beta": pairs([...fromAlpha, ...fromBeta]),
      "hooks-only": pairs(fromHooks),
      everyone: pairs([...fromAlpha, ...fromBeta, ...fromHooks].filter((e) => !permanent(e))),
    };
    const names = Object.keys(wanted) as Array<keyof typeof wanted>;
    await waitFor(() => names.every((name) => deliveredPairs(name).length >= wanted[name].length), {
      message: "every event at its tenants' actions",
    });
    // Each exactly once (no other tenant's event, no duplicate), the shared id once per tenant.
    for (const name of names) expect(deliveredPairs(name).sort()).toEqual([...wanted[name]].sort());
    expect(deliveredPairs("alpha-beta").filter((p) => p.endsWith(shared))).toHaveLength(2);
    expect(deliveredPairs("everyone").filter((p) => p.endsWith(shared))).toHaveLength(3);
    expect(recorded(`${run}:everyone`).some((a) => a.id === misrouted.id)).toBe(false);

    // Dead letters: the `everyone` action refused each tenant's user.deleted; `?tenant=` shows one tenant's.
    const deadOf = async (tenant: string) => {
      const response = await fetch(`${base}/api/dead-letters?tenant=${tenant}`);
      expect(response.status).toBe(200);
      return (await response.json()) as {
        items: Array<{ tenant: string; eventId: string; action: string }>;
        total: number;
      };
    };
    const allDead = [...fromAlpha, ...fromBeta, ...fromHooks].filter(permanent);
    await waitFor(
      async () =>
        ((await (await fetch(`${base}/api/dead-letters`)).json()) as { total: number }).total ===
        allDead.length,
      { message: "every tenant's dead letters" },
    );
    for (const [tenant, events] of [
      ["alpha", fromAlpha],
      ["beta", fromBeta],
      ["hooks", fromHooks],
    ] as const) {
      const dead = await deadOf(tenant);
      expect(dead.items.every((d) => d.tenant === tenant && d.action === "everyone")).toBe(true);
      expect(new Set(dead.items.map((d) => d.eventId))).toEqual(
        new Set(events.filter(permanent).map((e) => e.id)),
      );
      expect(dead.total).toBe(events.filter(permanent).length);
    }
    expect((await fetch(`${base}/api/dead-letters?tenant=nobody`)).status).toBe(404);
    expect(JSON.stringify(logs)).not.toContain(HOOK_TOKEN);

    // A restart: each stream resumes from its own stored cursor, and nothing is delivered again.
    await host.stop();
    hosts = [];
    const restartedAt = Date.now();
    const laterAlpha = alphaEvents.many(3, ["user.created"]);
    const laterBeta = betaEvents.many(3, ["organization.created"]);
    alpha.append(laterAlpha);
    beta.append(laterBeta);
    await start(alpha, beta);
    await waitFor(
      () =>
        deliveredPairs("alpha-beta").length ===
        wanted["alpha-beta"].length + laterAlpha.length + laterBeta.length,
      { message: "the events after the restart" },
    );
    for (const [fake, count] of [
      [alpha, fromAlpha.length],
      [beta, fromBeta.length],
    ] as const) {
      const resumed = fake.connections.find((c) => c.at >= restartedAt);
      expect(resumed?.query.get("from") ?? resumed?.headers["last-event-id"]).toBe(fake.offsetOf(count - 1));
    }
    expect(deliveredPairs("alpha-only").sort()).toEqual(pairs([...fromAlpha, ...laterAlpha]).sort());
  });

  it("records each attempt's tenant: ?tenant= filters the deliveries, and an id two tenants share needs ?tenant= on the event page", async () => {
    const alpha = await startFakeTenant({ heartbeatMs: 60_000 });
    const beta = await startFakeTenant({ heartbeatMs: 60_000 });
    tenants.push(alpha, beta);
    const alphaEvents = createEventFactory({ seed: 41, tenant: "alpha" });
    const betaEvents = createEventFactory({ seed: 42, tenant: "beta" });
    const hookEvents = createEventFactory({ seed: 43, tenant: "hooks" });
    const shared = "evt_sharedByAlphaBeta";
    const fromAlpha = [alphaEvents.event("user.created", { id: shared }), alphaEvents.event("user.updated")];
    const fromBeta = [betaEvents.event("organization.updated", { id: shared })];
    const fromHooks = [hookEvents.event("user.created")];
    alpha.append(fromAlpha);
    beta.append(fromBeta);
    const { webhookUrl, base } = await start(alpha, beta);
    const hook = await fetch(webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${HOOK_TOKEN}` },
      body: JSON.stringify(fromHooks[0]),
    });
    expect(hook.status).toBe(200);

    type Attempts = { items: Array<{ tenant: string; eventId: string; eventType: string; action: string }> };
    const get = async <T>(path: string) => {
      const response = await fetch(`${base}${path}`);
      return { status: response.status, body: (await response.json()) as T };
    };
    const attempts = async (query: string) => {
      const { status, body } = await get<Attempts>(`/api/deliveries?limit=500${query}`);
      expect(status).toBe(200);
      return body.items;
    };
    // alpha's: alpha-only, alpha-beta, everyone; beta's: alpha-beta, everyone, beta-retried twice; hooks':
    // hooks-only, everyone.
    await waitFor(async () => (await attempts("")).length === 3 * 2 + 4 + 2, {
      message: "every attempt in the history",
    });
    for (const [tenant, events, actions] of [
      ["alpha", fromAlpha, 3],
      ["beta", fromBeta, 4],
      ["hooks", fromHooks, 2],
    ] as const) {
      const items = await attempts(`&tenant=${tenant}`);
      expect(items.every((a) => a.tenant === tenant)).toBe(true);
      expect(items.map((a) => a.eventId).sort()).toEqual(
        events.flatMap((e) => Array.from({ length: actions }, () => e.id)).sort(),
      );
    }
    expect((await get("/api/deliveries?tenant=nobody")).status).toBe(404);
    // An event id with a tenant is that tenant's event only; alone, every tenant's.
    expect((await attempts(`&eventId=${shared}`)).map((a) => a.tenant).sort()).toEqual([
      "alpha",
      "alpha",
      "alpha",
      "beta",
      "beta",
      "beta",
      "beta",
    ]);
    const betaShared = await attempts(`&eventId=${shared}&tenant=beta`);
    expect(betaShared).toHaveLength(4);
    expect(betaShared.every((a) => a.tenant === "beta" && a.eventType === "organization.updated")).toBe(true);
    // The retry ran from the store's row, and still knows its tenant.
    const retried = await get<{ items: Array<{ tenant: string; outcome: string }> }>(
      "/api/deliveries?action=beta-retried",
    );
    expect(retried.body.items.map((a) => [a.tenant, a.outcome])).toEqual([
      ["beta", "delivered"],
      ["beta", "retrying"],
    ]);

    // The event page: an id two tenants share is ambiguous without ?tenant=, and names them.
    const ambiguous = await get<{ error: string }>(`/api/events/${shared}`);
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.error).toContain("alpha, beta");
    expect(ambiguous.body.error).toContain("?tenant=");
    type EventPage = {
      tenant: string;
      type: string;
      event?: { a0tenant?: string };
      attempts: Attempts["items"];
    };
    for (const [tenant, type, count] of [
      ["alpha", "user.created", 3],
      ["beta", "organization.updated", 4],
    ] as const) {
      const page = await get<EventPage>(`/api/events/${shared}?tenant=${tenant}`);
      expect(page.status).toBe(200);
      expect(page.body).toMatchObject({ tenant, type, event: { a0tenant: tenant } });
      expect(page.body.attempts).toHaveLength(count);
      expect(page.body.attempts.every((a) => a.tenant === tenant)).toBe(true);
    }
    // An id only one tenant has needs no tenant; another tenant has no such event.
    const unique = await get<EventPage>(`/api/events/${fromAlpha[1]!.id}`);
    expect(unique.status).toBe(200);
    expect(unique.body).toMatchObject({ tenant: "alpha", type: "user.updated" });
    expect((await get(`/api/events/${shared}?tenant=hooks`)).status).toBe(404);
  });
});
