import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { finishConfig } from "./load.js";
import { createRedactor } from "./secrets.js";

const base = {
  source: { auth0: { domain: "http://127.0.0.1:4010", token: "static-token-123" } },
  actions: [{ name: "log", plugin: "console", events: ["*"] }],
};
const file = join("/srv/switchyard", "switchyard.yaml");

describe("state location", () => {
  it("is a SQLite folder by default, relative to the config", () => {
    const loaded = finishConfig(base, file, {});
    expect(loaded.state).toEqual({ engine: "sqlite", dir: "/srv/switchyard/.switchyard" });
    expect(loaded.stateDir).toBe("/srv/switchyard/.switchyard");
    expect(loaded.config.delivery.leaseMs).toBe(5000);
  });

  it("is PostgreSQL for a postgres:// or postgresql:// URL after substitution, its password a secret", () => {
    const loaded = finishConfig(
      {
        ...base,
        state: "postgres://app:${PGPASS}@db.internal:5432/switchyard",
        delivery: { leaseMs: 10_000 },
      },
      file,
      { PGPASS: "p%40ss-word" },
    );
    expect(loaded.state).toEqual({
      engine: "postgres",
      url: "postgres://app:p%40ss-word@db.internal:5432/switchyard",
    });
    expect(loaded.stateDir).toBe("postgres://app:***@db.internal:5432/switchyard");
    expect(loaded.config.delivery.leaseMs).toBe(10_000);
    const redact = createRedactor(loaded.secrets);
    expect(redact("url postgres://app:p%40ss-word@db and p@ss-word")).not.toMatch(/p%40ss-word|p@ss-word/);
    const other = finishConfig({ ...base, state: "postgresql://db/switchyard" }, file, {});
    expect(other.state.engine).toBe("postgres");
  });
});
