// The webhook source under a SIGKILL: Auth0 posts a burst of events concurrently, the host is killed in the
// middle of it, and every event the host acknowledged (2xx) must still be delivered after a restart. Events
// that were not acknowledged are Auth0's to retry, as it does; the test retries them too.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory, startFakeWebhook, waitFor } from "@switchyard/testing";
import { Pool } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { type CliProcess, startCli } from "../test/cli.js";
import { freePort } from "../test/ports.js";
import { cleanupList } from "./harness.js";

const cleanup = cleanupList();
afterEach(() => cleanup.run());

describe("fault suite: the webhook source", () => {
  it("loses no acknowledged event when the host is SIGKILLed during a burst", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-webhook-fault-"));
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const received = new Map<string, number>();
    const receiver = await startFakeWebhook({
      reply: (request) => {
        const id = String(request.headers["webhook-id"]);
        received.set(id, (received.get(id) ?? 0) + 1);
        return { status: 204 };
      },
    });
    cleanup.add(() => receiver.close());
    const port = await freePort();
    const config = join(dir, "switchyard.yaml");
    writeFileSync(
      config,
      `source:
  webhook: { port: ${port}, path: /auth0/events, auth: { bearer: "\${HOOK_TOKEN}" } }
state: ./state
server: { enabled: false }
actions:
  - name: forward
    plugin: "@switchyard/plugin-http"
    events: ["*"]
    with: { url: "${receiver.url}/in" }
`,
    );
    const env = { HOOK_TOKEN: "burst-token" };
    const start = (): CliProcess => {
      const cli = startCli(["start", "--config", config], env);
      cleanup.add(() => cli.child.kill("SIGKILL"));
      return cli;
    };

    const events = createEventFactory({ seed: 77 }).many(1_500);
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32 });
    cleanup.add(() => pool.destroy());
    const acked = new Set<string>();
    const post = async (event: (typeof events)[number]) => {
      try {
        const { statusCode, body } = await pool.request({
          path: "/auth0/events",
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer burst-token" },
          body: JSON.stringify(event),
        });
        await body.dump();
        if (statusCode >= 200 && statusCode < 300) acked.add(event.id);
      } catch {
        // Refused or cut off by the kill: not acknowledged, so Auth0 would send it again.
      }
    };

    const first = start();
    await first.waitForLog("switchyard started", 60_000);
    // The burst: 32 posts at a time; the host is killed once a third of them are acknowledged.
    let next = 0;
    const burst = Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < events.length) await post(events[next++]!);
      }),
    );
    await waitFor(() => acked.size >= 500, { timeoutMs: 60_000 });
    first.child.kill("SIGKILL");
    await first.exited;
    await burst;
    const ackedBeforeKill = new Set(acked);
    expect(ackedBeforeKill.size).toBeGreaterThanOrEqual(500);
    expect(ackedBeforeKill.size).toBeLessThan(events.length);

    // The restarted host delivers every acknowledged event; Auth0's retries bring the rest.
    const second = start();
    await second.waitForLog("switchyard started", 60_000);
    for (const event of events) if (!acked.has(event.id)) await post(event);
    expect(acked.size).toBe(events.length);
    await waitFor(() => events.every((e) => received.has(e.id)), {
      timeoutMs: 60_000,
      intervalMs: 100,
      message: "every acknowledged event delivered",
    });
    const twice = [...received.values()].filter((n) => n > 1).length;
    console.log(
      `webhook fault: ${ackedBeforeKill.size} of ${events.length} acknowledged before the SIGKILL; delivered more than once: ${twice}`,
    );
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
  }, 180_000);
});
