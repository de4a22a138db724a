// What the host records in the audit log on its own, on both engines: an applied config reload (who asked,
// what changed) and an action it paused after too many consecutive failures (actor `switchyard`).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory, waitFor } from "@switchyard/testing";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { openStore } from "../src/store/open.js";
import type { StateStore } from "../src/store/types.js";
import { memorySource } from "./memory-source.js";
import { createTestSchema, postgresAvailable, type TestSchema } from "./postgres.js";
import { RECORDER } from "./recorder.js";

const factory = createEventFactory({ seed: 25 });
const pgAvailable = await postgresAvailable();
const TOKEN = "operator-token-0123456789abcdef";
const NEW_TOKEN = "viewer-token-0123456789abcdefgh";

let dir: string;
let hosts: Host[] = [];
let stores: StateStore[] = [];
let schema: TestSchema | undefined;
let run = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-audit-host-"));
  run++;
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await Promise.all(stores.map((s) => s.close()));
  hosts = [];
  stores = [];
  await schema?.drop();
  schema = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const engines = [
  { engine: "sqlite", state: async () => join(dir, "state") },
  {
    engine: "postgres",
    state: async () => {
      schema = await createTestSchema();
      return schema.url;
    },
  },
] as const;

describe.each(engines)("the host's own audit entries ($engine)", ({ engine, state }) => {
  it.skipIf(engine === "postgres" && !pgAvailable)(
    "records an auto-pause as `switchyard` and a config reload with who asked and what changed",
    async () => {
      const input = (actions: SwitchyardConfigInput["actions"], tokens: SwitchyardConfigInput["server"]) => ({
        source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
        state: where,
        server: { port: 0, ...tokens },
        actions,
      });
      const where = await state();
      const file = join(dir, "switchyard.yaml");
      const flaky = {
        name: "flaky",
        plugin: RECORDER,
        events: ["user.*"],
        with: { id: `${run}:${engine}:flaky`, failTimes: 100 },
        pauseAfterFailures: 3,
        retry: { maxAttempts: 10, initialDelayMs: 10 },
      };
      const keep = { name: "keep", plugin: RECORDER, events: ["*"], with: { id: `${run}:${engine}:keep` } };
      const operator = { adminTokens: [{ name: "ops", token: TOKEN, role: "operator" as const }] };
      const loaded = finishConfig(input([flaky, keep], operator), file, {});
      const source = memorySource();
      const host = await startHost(loaded, { source, logDestination: pino.destination("/dev/null") });
      hosts.push(host);
      const store = await openStore(loaded);
      stores.push(store);

      source.push(...Array.from({ length: 3 }, () => factory.event("user.created")));
      const paused = await waitFor(
        async () => (await store.searchAudit({ limit: 10 })).find((e) => e.operation === "pause"),
        { timeoutMs: 20_000, message: "the auto-pause in the audit log" },
      );
      expect(paused).toMatchObject({ actor: "switchyard", selection: { action: "flaky" } });
      expect(String(paused.result.reason)).toMatch(/3 consecutive failed attempts; the last: .*flaky/);
      expect((await store.actionStates()).flaky).toMatchObject({ paused: true });

      // The reload removes `flaky`, adds `late`, changes `keep`, and adds a viewer's token.
      const next = finishConfig(
        input(
          [
            { ...keep, concurrency: 2 },
            { name: "late", plugin: RECORDER, events: ["*"], with: { id: `${run}:${engine}:late` } },
          ],
          {
            adminTokens: [...operator.adminTokens, { name: "cy", token: NEW_TOKEN, role: "viewer" as const }],
          },
        ),
        file,
        {},
      );
      await host.reload(next, "signal:SIGHUP");
      // A refused reload changes nothing and records nothing.
      await expect(
        host.reload(finishConfig({ ...input([keep], operator), log: { level: "debug" } }, file, {}), "ops"),
      ).rejects.toThrow(/log cannot change/);
      const entries = await store.searchAudit({ limit: 10 });
      expect(entries.map((e) => e.operation)).toEqual(["reload", "pause"]);
      expect(entries[0]).toMatchObject({
        actor: "signal:SIGHUP",
        selection: { file },
        result: {
          added: ["late"],
          changed: ["keep"],
          removed: ["flaky"],
          unchanged: 0,
          adminTokens: { added: ["cy"], removed: [], changed: [] },
        },
      });
      expect(typeof entries[0]!.selection.replica).toBe("string");
      // Token values never reach the log.
      expect(JSON.stringify(entries)).not.toContain(NEW_TOKEN);
    },
    30_000,
  );
});
