// What every fault test shares: seeded randomness (replay a failing run with FAULT_SEED), cleanups run in
// reverse after each test, a bounded sleep for the faults whose timing is the point, and host replicas started.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FakeTenant } from "@switchyard/testing";
import { type CliProcess, startCli } from "../test/cli.js";

/** Deterministic randomness from `seed`, so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
    state ^= state >>> 13;
    return (state >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Cleanups registered during a test, run last-registered first by `runCleanups` (in `afterEach`). */
export function cleanupList() {
  const cleanups: Array<() => unknown> = [];
  return {
    add: (cleanup: () => unknown) => cleanups.push(cleanup),
    async run() {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    },
  };
}

/** A host process started by `startReplica`. */
export interface Replica {
  /** Its name (`REPLICA` in its environment: its replica id, and what its actions may send). */
  name: string;
  cli: CliProcess;
  /** Its ops port (/readyz, /metrics). */
  port: number;
}

/**
 * Start `switchyard start --config <config>` as the replica `name`, once it says it started. It is SIGKILLed
 * at cleanup, registered now so that it is gone before anything registered earlier (a Postgres schema, whose
 * locks a live replica's connections would hold) is removed.
 */
export async function startReplica(
  config: string,
  env: NodeJS.ProcessEnv,
  name: string,
  cleanup: ReturnType<typeof cleanupList>,
): Promise<Replica> {
  const cli = startCli(["start", "--config", config], { ...env, REPLICA: name });
  cleanup.add(async () => {
    cli.child.kill("SIGKILL");
    await cli.exited;
  });
  const started = await cli.waitForLog("switchyard started", 30_000);
  return { name, cli, port: Number(new URL(String(started.metrics)).port) };
}

/**
 * Write `switchyard.yaml` in `dir` for replicas on PostgreSQL state: `tenant`'s stream from its start (its
 * secret from TENANT_SECRET), the state at STATE_URL, the ops port free; then `rest` (delivery, actions).
 */
export function writePostgresConfig(dir: string, tenant: FakeTenant, rest: string): string {
  const config = join(dir, "switchyard.yaml");
  writeFileSync(
    config,
    `source:
  auth0: { domain: "${tenant.url}", clientId: "${tenant.clientId}", clientSecret: "\${TENANT_SECRET}", fromTimestamp: "2026-01-01T00:00:00Z" }
state: "\${STATE_URL}"
server: { port: 0 }
${rest}`,
  );
  return config;
}
