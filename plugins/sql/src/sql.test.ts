import type { Auth0Event } from "@switchyard/core";
import { createEventFactory, runAction, startFaultProxy, waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it, type TestContext } from "vitest";
import { available, DATABASES, query, type TestDatabase, testTables } from "../test/databases.js";
import sql, { type SqlOptions } from "./index.js";

describe.each(DATABASES)("sql plugin on $engine", (database: TestDatabase) => {
  let tables: ReturnType<typeof testTables>;
  let up = false;
  beforeEach(async () => {
    up = await available(database);
    tables = testTables(database);
  });
  afterEach(async () => {
    if (up) await tables.drop();
  });

  function action(options: Partial<SqlOptions> = {}) {
    const { drop: _, ...names } = tables;
    return sql({ url: database.url, ...names, ...options });
  }

  async function rows(table: string, order = "1") {
    const found = await query(database, `SELECT * FROM ${table} ORDER BY ${order}`);
    return found.map(
      (row): Record<string, unknown> => ({
        ...row,
        profile: typeof row.profile === "string" ? JSON.parse(row.profile) : row.profile,
      }),
    );
  }

  const skipUnlessUp = (context: TestContext) => {
    if (!up) context.skip();
  };

  it("upserts one row per user: the chosen columns, the profile, the event's time and id", async (context) => {
    skipUnlessUp(context);
    const users = action({ columns: { email: "data.object.email", plan: "data.object.app_metadata.plan" } });
    const factory = createEventFactory({ seed: 11 });
    const created = factory.byType["user.created"]({ app_metadata: { plan: "free" } });
    const userId = created.data.object.user_id;
    const updated = factory.byType["user.updated"]({
      user_id: userId,
      email: "new@example.com",
      app_metadata: { plan: "pro" },
    });
    for (const event of [created, updated]) expect((await runAction(users, event)).status).toBe("delivered");
    await users.close?.();
    const [row, ...others] = await rows(tables.table);
    expect(others).toEqual([]);
    expect(row).toMatchObject({
      user_id: userId,
      email: "new@example.com",
      plan: "pro",
      event_id: updated.id,
      deleted_at: null,
    });
    expect(row?.profile).toEqual(updated.data.object);
    expect(new Date(row?.event_time as string).toISOString()).toBe(updated.time);
  });

  it("gives up on connections the network silenced (no answer, no reset) and writes through new ones", async (context) => {
    skipUnlessUp(context);
    const server = new URL(database.url);
    const proxy = await startFaultProxy({ host: server.hostname, port: Number(server.port) });
    server.host = proxy.address;
    const users = action({ url: server.toString(), queryTimeoutMs: 300 });
    const factory = createEventFactory({ seed: 19 });
    const [first, second] = [factory.byType["user.created"](), factory.byType["user.created"]()];
    try {
      expect((await runAction(users, first)).status).toBe("delivered");
      // Every connection open now answers nothing, as after a failover to another address: without a
      // timeout each would hold its place in the pool for good, and every later attempt would time out.
      proxy.silenceOpen();
      await waitFor(
        async () => (await runAction(users, second, { timeoutMs: 2_000 })).status === "delivered",
        {
          timeoutMs: 15_000,
          message: "an attempt through a new connection",
        },
      );
      await users.close?.();
    } finally {
      await proxy.close();
    }
    expect((await rows(tables.table, "event_id")).map((row) => row.user_id).sort()).toEqual(
      [first.data.object.user_id, second.data.object.user_id].sort(),
    );
  }, 30_000);

  it("never lets an older event overwrite a newer one, nor bring a deleted user back", async (context) => {
    skipUnlessUp(context);
    const users = action();
    const factory = createEventFactory({ seed: 12 });
    const created = factory.byType["user.created"]();
    const userId = created.data.object.user_id;
    const updated = factory.byType["user.updated"]({ user_id: userId, name: "Newer" });
    const deleted = factory.byType["user.deleted"]({ user_id: userId });
    const other = factory.byType["user.created"]();
    // Newest first: each older event must lose.
    for (const event of [updated, created]) await runAction(users, event);
    expect((await rows(tables.table))[0]).toMatchObject({ event_id: updated.id });
    for (const event of [deleted, updated, created, other])
      expect((await runAction(users, event)).status).toBe("delivered");
    await users.close?.();
    expect((await rows(tables.table)).map((row) => row.user_id)).toEqual([other.data.object.user_id]);
  });

  it("writes batches of every size up to batchSize, each change once", async (context) => {
    skipUnlessUp(context);
    const users = action({ batchSize: 7, poolSize: 1 });
    const factory = createEventFactory({ seed: 13 });
    // Deliveries started together gather into one batch: 1, 2, … 7 of them, then 9 (a full batch and 2).
    const rounds = [1, 2, 3, 4, 5, 6, 7, 9].map((size) =>
      Array.from({ length: size }, () => factory.byType["user.created"]()),
    );
    for (const round of rounds) {
      const results = await Promise.all(round.map((event) => runAction(users, event)));
      expect(results.map((result) => result.status)).toEqual(round.map(() => "delivered"));
    }
    await users.close?.();
    const written = (await rows(tables.table)).map((row) => `${row.user_id} ${row.event_id}`);
    const sent = rounds.flat().map((event) => `${event.data.object.user_id} ${event.id}`);
    expect(written.sort()).toEqual(sent.sort());
  });

  it("softDelete keeps the row with deleted_at set", async (context) => {
    skipUnlessUp(context);
    const users = action({ softDelete: true });
    const factory = createEventFactory({ seed: 13 });
    const created = factory.byType["user.created"]();
    const deleted = factory.byType["user.deleted"]({ user_id: created.data.object.user_id });
    for (const event of [created, deleted, created]) await runAction(users, event);
    await users.close?.();
    const [row] = await rows(tables.table);
    expect(row).toMatchObject({ event_id: deleted.id });
    expect(new Date(row?.deleted_at as string).toISOString()).toBe(deleted.time);
  });

  it("keeps organizations and memberships in their own tables", async (context) => {
    skipUnlessUp(context);
    const users = action();
    const factory = createEventFactory({ seed: 14 });
    const org = factory.byType["organization.created"]({ id: "org_1", name: "acme", display_name: "Acme" });
    const renamed = factory.byType["organization.updated"]({
      id: "org_1",
      name: "acme",
      display_name: "Acme Inc",
    });
    const member = (type: "organization.member.added" | "organization.member.deleted", user: string) =>
      factory.byType[type]({ organization: { id: "org_1", name: "acme" }, user: { user_id: user } });
    const events: Auth0Event[] = [
      org,
      renamed,
      member("organization.member.added", "u1"),
      member("organization.member.added", "u2"),
    ];
    events.push(
      member("organization.member.deleted", "u1"),
      factory.byType["organization.member.role.assigned"](),
    );
    for (const event of events) expect((await runAction(users, event)).status).toBe("delivered");
    await users.close?.();
    expect(await rows(tables.organizationsTable)).toMatchObject([
      { organization_id: "org_1", display_name: "Acme Inc" },
    ]);
    expect(await rows(tables.membershipsTable)).toMatchObject([{ organization_id: "org_1", user_id: "u2" }]);
  });

  it("a database that cannot be reached is retryable, and the URL's password is never shown", async (context) => {
    skipUnlessUp(context);
    const url = new URL(database.url);
    url.password = "pw-never-shown-8d2f";
    url.port = "1"; // nothing listens there
    const users = action({ url: url.toString() });
    const result = await runAction(users, createEventFactory({ seed: 16 }).byType["user.created"]());
    await users.close?.();
    expect(result.status).toBe("retryable");
    expect(result.message).toMatch(/\[switchyard\] \[sql\] could not create or read table/);
    expect(JSON.stringify([result.message, String(result.error), result.logs])).not.toContain(
      "pw-never-shown",
    );
  });

  it("an existing table of another shape is a clear, permanent error", async (context) => {
    skipUnlessUp(context);
    await query(database, `CREATE TABLE ${tables.table} (user_id VARCHAR(100) PRIMARY KEY, email TEXT)`);
    const users = action();
    const result = await runAction(users, createEventFactory({ seed: 15 }).byType["user.created"]());
    await users.close?.();
    expect(result.status).toBe("permanent");
    expect(result.message).toMatch(
      new RegExp(
        `\\[switchyard\\] \\[sql\\] table ${tables.table} exists with another shape: it lacks the columns profile, event_time, event_id, deleted_at`,
      ),
    );
  });
});

describe("sql plugin options", () => {
  it("never echoes the URL, which may hold a password", () => {
    expect(() => sql({ url: "redis://user:hunter2@db/x" })).toThrow(
      /option "url": must be a postgres:\/\/, mysql:\/\/ or mariadb:\/\/ URL/,
    );
    try {
      sql({ url: "redis://user:hunter2@db/x" });
    } catch (error) {
      expect((error as Error).message).not.toContain("hunter2");
    }
  });

  it("refuses a chosen column that takes one of the plugin's own names", () => {
    expect(() => sql({ url: "postgres://db/x", columns: { profile: "data.object.email" } })).toThrow(
      /option "columns"/,
    );
    expect(() => sql({ url: "postgres://db/x", table: "users; DROP TABLE x" })).toThrow(/option "table"/);
  });
});
