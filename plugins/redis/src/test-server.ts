// Test helper: the real Redis server, and a key prefix and ACL user per test so that tests run in parallel.
import { randomBytes } from "node:crypto";
import type { TcpAddress } from "@switchyard/testing";
import type { DestinationMessage, DestinationTarget } from "@switchyard/testing/vitest";
import { createClient } from "redis";

/** A plain client: the helper's return type, named so that declarations stay portable. */
export type AdminClient = ReturnType<typeof createClient>;

import type { RedisOptions } from "./index.js";

/** The test server: SWITCHYARD_TEST_REDIS_URL, or the local one. */
export const REDIS_URL = new URL(process.env.SWITCHYARD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
export const REDIS_SERVER: TcpAddress = { host: REDIS_URL.hostname, port: Number(REDIS_URL.port || 6379) };
export const HOW_TO_RUN = "start redis-server on 127.0.0.1:6379, or set SWITCHYARD_TEST_REDIS_URL";

/** A client straight to the server (no proxy), to read and clean up. */
export async function adminClient(): Promise<AdminClient> {
  const client = createClient({ url: REDIS_URL.toString() });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/**
 * A fresh namespace: the keys under `sy_test:<random>:`, reached through `via` by a user of its own whose
 * password is random (so a leak of it can be looked for).
 */
export async function redisTarget(
  via: TcpAddress,
  extra: Partial<RedisOptions> = {},
): Promise<DestinationTarget<RedisOptions> & { prefix: string; password: string }> {
  const admin = await adminClient();
  const token = randomBytes(6).toString("hex");
  const prefix = `sy_test:${token}:`;
  const user = `sy_test_${token}`;
  const password = randomBytes(18).toString("base64url");
  await admin.sendCommand(["ACL", "SETUSER", user, "on", `>${password}`, `~${prefix}*`, "+@all"]);
  const stream = `${prefix}events`;
  return {
    prefix,
    password,
    options: {
      url: `redis://${user}:${password}@${via.host}:${via.port}`,
      stream,
      ...extra,
    },
    async read(): Promise<DestinationMessage[]> {
      const entries = await admin.xRange(stream, "-", "+");
      return entries.map(({ message }) => ({
        id: String(message.id),
        type: String(message.type),
        body: String(message.event),
      }));
    },
    async close() {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(keys);
      await admin.sendCommand(["ACL", "DELUSER", user]);
      await admin.close();
    },
  };
}
