import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@switchyard/core";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { resolveActions } from "../plugins/resolve-actions.js";
import { finishConfig, loadConfig } from "./load.js";

// Untrusted input: whatever a config file holds, `validate` answers with a ConfigError that names a field,
// or a valid config; never another exception, an unhandled rejection or a hang.

// Deterministic in CI; set FC_SEED to explore other inputs.
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261127) });

const dir = mkdtempSync(join(tmpdir(), "switchyard-fuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const valid = {
  source: { auth0: { domain: "tenant.us.auth0.com", clientId: "id", clientSecret: "${SECRET:-s3cr3t}" } },
  state: "./.switchyard",
  server: { port: 0 },
  actions: [
    {
      name: "slack",
      plugin: "@switchyard/plugin-slack",
      events: ["user.created"],
      with: { token: "xoxb-1", channel: "#a" },
    },
    {
      name: "http",
      plugin: "@switchyard/plugin-http",
      events: ["*"],
      with: { url: "http://127.0.0.1:1" },
      retry: { maxAttempts: 3 },
    },
    { name: "log", plugin: "console", events: ["organization.*"] },
  ],
};

const anyValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string(), { maxKeys: 3 }),
  fc.constantFrom(
    "${UNSET_VAR}",
    "${X:-1}",
    "user.**",
    "*",
    "",
    "-1",
    "@switchyard/plugin-nope",
    "./missing.js",
  ),
);

/** A path into the valid config and a value to put there (or undefined to delete it). */
const mutation = fc.tuple(
  fc.constantFrom(
    ["source"],
    ["source", "auth0"],
    ["source", "auth0", "domain"],
    ["source", "auth0", "clientId"],
    ["source", "auth0", "fromTimestamp"],
    ["state"],
    ["server", "port"],
    ["actions"],
    ["actions", 0],
    ["actions", 0, "name"],
    ["actions", 0, "events"],
    ["actions", 0, "events", 0],
    ["actions", 0, "with"],
    ["actions", 0, "with", "channel"],
    ["actions", 1, "with", "url"],
    ["actions", 1, "retry", "maxAttempts"],
    ["actions", 2, "plugin"],
    ["actions", 2, "orderBy"],
    ["bogus"],
  ),
  fc.option(anyValue, { nil: undefined }),
);

function mutate(config: unknown, [path, value]: readonly [ReadonlyArray<string | number>, unknown]): unknown {
  const copy = structuredClone(config) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== "object") node[key] = {};
    node = node[key] as Record<string | number, unknown>;
  }
  const last = path.at(-1)!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

async function check(raw: unknown): Promise<void> {
  try {
    const loaded = finishConfig(raw, join(dir, "switchyard.yaml"), {});
    await resolveActions(loaded);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    expect(error.issues.length).toBeGreaterThan(0);
    for (const issue of error.issues) expect(typeof issue.path).toBe("string");
  }
}

describe("config fuzzing", () => {
  it("the valid base config passes", async () => {
    await expect(check(valid)).resolves.toBeUndefined();
  });

  it("answers every mutation of a valid config with a valid config or a ConfigError naming fields", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        await check(mutations.reduce(mutate, valid as unknown));
      }),
      { numRuns: 300 },
    );
  });

  it("answers arbitrary JSON values with a ConfigError", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => check(value)),
      { numRuns: 200 },
    );
  });

  it("answers arbitrary file contents (YAML or not) with a ConfigError or a valid config", async () => {
    const file = join(dir, "fuzz.yaml");
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.jsonValue().map((v) => stringify(v)),
          mutation.map((m) => stringify(mutate(valid, m))),
        ),
        async (text) => {
          writeFileSync(file, text);
          try {
            await resolveActions(await loadConfig(file, {}));
          } catch (error) {
            if (!(error instanceof ConfigError)) throw error;
            expect(error.message).toContain(file);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
