import { fileURLToPath } from "node:url";
import { startFakeServer } from "@switchyard/testing";
import { startTrickleTenant } from "./fake-tenant.js";

/** The bundled demo config: a plain switchyard.yaml whose tenant and receiver are the local fakes below. */
export const DEMO_CONFIG = fileURLToPath(new URL("../demo/switchyard.yaml", import.meta.url));

/**
 * The embedded demo: a fake tenant emitting a realistic trickle of events, and a local HTTP receiver that
 * is busy now and then (503: retried) and refuses each group event the first time it sees that event id
 * (410: dead-lettered) but takes it when it comes again, so a newcomer sees deliveries, retries and dead
 * letters with no credentials at all, and a dead letter replayed (from the console or `switchyard dlq
 * replay`) is delivered. Its addresses reach the bundled config through environment variables, like a real
 * deployment's would.
 */
export async function startDemo(options: { eventsPerSecond?: number; stateDir: string }) {
  const tenant = await startTrickleTenant({ eventsPerSecond: options.eventsPerSecond ?? 2 });
  let count = 0;
  // A group event's id, once refused (one id per group event, about one every 6 s at the default rate).
  const refused = new Set<string>();
  const receiver = await startFakeServer((request) => {
    count++;
    const event = (request.json ?? {}) as { type?: string; id?: string };
    if (event.type?.startsWith("group.") && event.id !== undefined && !refused.has(event.id)) {
      refused.add(event.id);
      return { status: 410, body: "gone: this receiver refuses a group event the first time" };
    }
    if (count % 5 === 0) return { status: 503, headers: { "retry-after": "1" }, body: "busy, try again" };
    return { status: 204 };
  });
  const env = {
    SWITCHYARD_DEMO_TENANT: tenant.url,
    SWITCHYARD_DEMO_CLIENT_ID: tenant.clientId,
    SWITCHYARD_DEMO_CLIENT_SECRET: tenant.clientSecret,
    SWITCHYARD_DEMO_RECEIVER: receiver.url,
    SWITCHYARD_DEMO_STATE: options.stateDir,
  };
  return {
    env,
    tenantUrl: tenant.url,
    receiverUrl: receiver.url,
    async close() {
      await Promise.all([tenant.close(), receiver.close()]);
    },
  };
}
