import type { Auth0Event } from "@switchyard/core";
import { createEventFactory, runAction } from "@switchyard/testing";
import { describe, expect, it } from "vitest";
import { available, DATABASES, query, type TestDatabase, testTables } from "../test/databases.js";
import sql from "./index.js";

/** Users' lives (created, updated, sometimes deleted) and memberships coming and going, in Auth0's order. */
function lives(seed: number, users: number) {
  const factory = createEventFactory({ seed });
  const random = factory.random;
  const history: Auth0Event[] = [];
  for (let u = 0; u < users; u++) {
    const created = factory.byType["user.created"]();
    const userId = created.data.object.user_id;
    history.push(created);
    const updates = 3 + Math.floor(random() * 6);
    for (let i = 0; i < updates; i++)
      history.push(factory.byType["user.updated"]({ user_id: userId, name: `v${i}` }));
    const org = { id: `org_${u % 7}`, name: `org${u % 7}` };
    history.push(
      factory.byType["organization.member.added"]({ organization: org, user: { user_id: userId } }),
    );
    if (random() < 0.3) {
      history.push(
        factory.byType["organization.member.deleted"]({ organization: org, user: { user_id: userId } }),
      );
      history.push(factory.byType["user.deleted"]({ user_id: userId }));
    }
  }
  return history;
}

/** What the tables must hold after `history`: the last event of each user and membership, unless deleted. */
function finalState(history: Auth0Event[]) {
  const users = new Map<string, Auth0Event>();
  const members = new Map<string, Auth0Event>();
  for (const event of history) {
    const object = event.data.object as {
      user_id?: string;
      organization?: { id: string };
      user?: { user_id: string };
    };
    if (event.type.startsWith("user.")) users.set(object.user_id ?? "", event);
    else members.set(`${object.organization?.id} ${object.user?.user_id}`, event);
  }
  const alive = (map: Map<string, Auth0Event>) =>
    [...map.entries()]
      .filter(([, event]) => !event.type.endsWith(".deleted"))
      .map(([key, event]) => `${key} ${event.id}`)
      .sort();
  return { users: alive(users), members: alive(members) };
}

describe.each(DATABASES)("sql plugin on $engine: 10,000 deliveries", (database: TestDatabase) => {
  it("shuffled, redelivered and duplicated, end with tables equal to the final state", {
    timeout: 120_000,
  }, async (context) => {
    if (!(await available(database))) return context.skip();
    const tables = testTables(database);
    const history = lives(database.engine.length, 800);
    const expected = finalState(history);
    // Every event once, plus redeliveries and duplicates up to 10,000 deliveries, in a random order.
    const random = createEventFactory({ seed: 99 }).random;
    const deliveries = [...history];
    while (deliveries.length < 10_000) deliveries.push(history[Math.floor(random() * history.length)]!);
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
    }
    const { drop, ...names } = tables;
    const action = sql({ url: database.url, ...names });
    try {
      // 16 at a time, as the host's default concurrency; a retryable failure is delivered again.
      let next = 0;
      const lanes = Array.from({ length: 16 }, async () => {
        while (next < deliveries.length) {
          const event = deliveries[next++]!;
          for (let attempt = 1; ; attempt++) {
            const result = await runAction(action, event);
            if (result.status === "delivered") break;
            expect(result.status, result.message).toBe("retryable");
            expect(attempt).toBeLessThan(10);
          }
        }
      });
      await Promise.all(lanes);
      const users = await query(database, `SELECT user_id, event_id FROM ${tables.table}`);
      const members = await query(
        database,
        `SELECT organization_id, user_id, event_id FROM ${tables.membershipsTable}`,
      );
      expect(users.map((row) => `${row.user_id} ${row.event_id}`).sort()).toEqual(expected.users);
      expect(members.map((row) => `${row.organization_id} ${row.user_id} ${row.event_id}`).sort()).toEqual(
        expected.members,
      );
      expect(expected.users.length).toBeGreaterThan(400);
    } finally {
      await action.close?.();
      await drop();
    }
  });
});
