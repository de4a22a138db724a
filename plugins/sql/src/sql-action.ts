import {
  type Action,
  abortable,
  createBatcher,
  describeError,
  errorPrefix,
  PermanentError,
  RetryableError,
} from "@switchyard/core";
import type { Database } from "./database.js";
import { type Change, changeOf, type Entity, entitiesOf } from "./entities.js";
import { mysqlDatabase } from "./mysql.js";
import type { ResolvedSqlOptions } from "./options.js";
import { postgresDatabase } from "./postgres.js";

const PREFIX = errorPrefix("sql");
/** Transactions that lost a deadlock are run again this many times before the deliveries fail (retryable). */
const DEADLOCK_RETRIES = 5;

/** The SQL action: one pool, and per table a batcher that writes concurrent deliveries in one transaction. */
export function createSqlAction(options: ResolvedSqlOptions): Action {
  const postgres = /^postgres(ql)?:/.test(options.url);
  const database: Database = postgres
    ? postgresDatabase(options.url, options.poolSize, options.batchSize, options.queryTimeoutMs)
    : mysqlDatabase(options.url, options.poolSize, options.queryTimeoutMs);
  const entities = entitiesOf(options);
  const ready = new Map<Entity["kind"], Promise<void>>();
  let closing: Promise<void> | undefined;

  /** Create or check the entity's tables once; a failed check is tried again by the next delivery. */
  function ensure(entity: Entity): Promise<void> {
    let check = ready.get(entity.kind);
    if (!check) {
      check = (async () => {
        let missing: string[];
        try {
          missing = await database.ensure(entity);
        } catch (error) {
          throw classify(error, `could not create or read table ${entity.table}`);
        }
        if (missing.length > 0) {
          throw new PermanentError(
            `${PREFIX} table ${entity.table} exists with another shape: it lacks the columns ${missing.join(", ")} (alter it, or name another table; the README has the DDL)`,
          );
        }
      })();
      check.catch(() => ready.delete(entity.kind));
      ready.set(entity.kind, check);
    }
    return check;
  }

  const batchers = Object.fromEntries(
    Object.values(entities).map((entity) => [
      entity.kind,
      createBatcher<Change, void>({
        maxItems: options.batchSize,
        // One batch per connection: under load, deliveries gather into full batches instead of queueing for one.
        maxInFlight: options.poolSize,
        async send(changes) {
          await ensure(entity);
          // One change per key: the newest wins (the older ones would lose to it in any order anyway).
          const newest = new Map<string, Change>();
          for (const change of changes) {
            const id = change.key.join("\u0000");
            const other = newest.get(id);
            if (!other || other.version < change.version) newest.set(id, change);
          }
          // Sorted by key, so that concurrent transactions lock rows in one order.
          const sorted = [...newest.entries()]
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([, c]) => c);
          for (let attempt = 1; ; attempt++) {
            try {
              await database.apply(entity, sorted, options.softDelete);
              return changes.map(() => undefined);
            } catch (error) {
              if (isDeadlock(error) && attempt <= DEADLOCK_RETRIES) continue;
              throw classify(error, `writing ${changes.length} change(s) to ${entity.table}`);
            }
          }
        },
      }),
    ]),
  ) as Record<Entity["kind"], ReturnType<typeof createBatcher<Change, void>>>;

  return {
    async onExecuteEventStream({ message }, api) {
      if (closing) throw new RetryableError(`${PREFIX} the action is closing`);
      let change: Change | undefined;
      try {
        change = changeOf(message, entities, options.columns);
      } catch (error) {
        throw new PermanentError(`${PREFIX} ${(error as Error).message}`);
      }
      if (!change) {
        api.log.debug(`${PREFIX} no table keeps ${message.type}`);
        return;
      }
      const aborted = () => new RetryableError(`${PREFIX} aborted by the host before the write committed`);
      await abortable(batchers[change.entity.kind].add(change, api.signal, aborted), api.signal, aborted);
    },
    close() {
      closing ??= database.close().catch(() => {});
      return closing;
    },
  };
}

const DEADLOCK_CODES = new Set(["40P01", "40001", "ER_LOCK_DEADLOCK", "ER_LOCK_WAIT_TIMEOUT"]);

function isDeadlock(error: unknown): boolean {
  return DEADLOCK_CODES.has(String((error as { code?: unknown } | null)?.code));
}

/**
 * A database error as a typed failure. SQLSTATE classes 22 (bad data), 23 (a constraint), 42 (no such table
 * or column, no privilege) fail the same way again: permanent. Anything else (a lost connection, a server
 * restarting, too many clients, a deadlock that kept losing) is retryable.
 */
function classify(error: unknown, what: string): RetryableError | PermanentError {
  const shape = (error ?? {}) as { code?: unknown; sqlState?: unknown };
  const state =
    typeof shape.sqlState === "string" ? shape.sqlState : typeof shape.code === "string" ? shape.code : "";
  const text = `${PREFIX} ${what}: ${describeError(error)}`;
  if (/^(22|23|42)[0-9A-Z]{3}$/.test(state)) return new PermanentError(text, { cause: error });
  return new RetryableError(text, { cause: error });
}
