import { fileURLToPath } from "node:url";
import { type FakeTenant, startFakeServer, startFakeTenant } from "@switchyard/testing";

/** The order the demo's events come in: mostly users and memberships, as a real tenant's, with the rest mixed in. */
const DEMO_MIX = [
  "user.created",
  "user.updated",
  "organization.member.added",
  "user.created",
  "group.created",
  "organization.created",
  "user.updated",
  "connection.updated",
  "organization.member.role.assigned",
  "user.deleted",
  "group.member.added",
  "organization.updated",
];

/** The bundled demo config: a plain switchyard.yaml whose tenant and receiver are the local fakes below. */
export const DEMO_CONFIG = fileURLToPath(new URL("../demo/switchyard.yaml", import.meta.url));

/**
 * The embedded demo: a fake tenant emitting a realistic trickle of events, and a local HTTP receiver that
 * is busy now and then (503: retried) and refuses group events (410: dead-lettered), so a newcomer sees
 * deliveries, retries and dead letters with no credentials at all. Its addresses reach the bundled config
 * through environment variables, like a real deployment's would.
 */
export async function startDemo(options: { eventsPerSecond?: number; stateDir: string }) {
  const tenant: FakeTenant = await startFakeTenant({ heartbeatMs: 5_000 });
  let count = 0;
  const receiver = await startFakeServer((request) => {
    count++;
    const type = (request.json as { type?: string } | undefined)?.type ?? "";
    if (type.startsWith("group.")) return { status: 410, body: "gone: this receiver takes no group events" };
    if (count % 5 === 0) return { status: 503, headers: { "retry-after": "1" }, body: "busy, try again" };
    return { status: 204 };
  });
  const stopTrickle = tenant.startTrickle(options.eventsPerSecond ?? 2, { types: DEMO_MIX });
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
      stopTrickle();
      await Promise.all([tenant.close(), receiver.close()]);
    },
  };
}
