import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestSchema, postgresAvailable, type TestSchema } from "../../../test/postgres.js";
import { finishConfig } from "../../config/load.js";
import { sendTestEvent } from "../../send-test.js";
import { openHostStore, openStore } from "../open.js";

describe.skipIf(!(await postgresAvailable()))("opening postgres by config", () => {
  let schema: TestSchema;
  beforeEach(async () => {
    schema = await createTestSchema();
  });
  afterEach(() => schema.drop());

  const config = (state: string) =>
    finishConfig(
      {
        source: { auth0: { domain: "http://127.0.0.1:4010", token: "static-token-123" } },
        state,
        delivery: { leaseMs: 1500 },
        actions: [{ name: "log", plugin: "console", events: ["user.*"] }],
      },
      "/srv/switchyard/switchyard.yaml",
      { STATE_URL: schema.url },
    );

  it("opens the database a state URL names, for the CLI and the host, with the configured lease", async () => {
    const loaded = config("${STATE_URL}");
    const cli = await openStore(loaded);
    const host = await openHostStore(loaded);
    try {
      expect([cli.engine, host.engine]).toEqual(["postgres", "postgres"]);
      expect(await host.leadership?.acquire()).toBe(true);
      const [lease] = await schema.sql<{ ms: number }>(
        "SELECT round(extract(epoch FROM expires_at - clock_timestamp()) * 1000)::integer AS ms FROM stream_lease",
      );
      expect(lease!.ms).toBeGreaterThan(0);
      expect(lease!.ms).toBeLessThanOrEqual(1500);
      // The CLI enqueues a test event without the lease; the host sees it.
      const { actions } = await sendTestEvent(loaded, "user.created");
      expect(actions).toEqual(["log"]);
      expect((await host.stats()).pending).toEqual({ log: 1 });
    } finally {
      await cli.close();
      await host.close();
    }
  });
});
