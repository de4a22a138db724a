// Transactions on the Postgres store, and the one case a client cannot decide alone: a COMMIT whose answer
// never came (the connection dropped after the server had it). Without an answer the transaction may have
// committed: an ingest's held deliveries or a claim's rows would then be in flight, owned by this live
// replica, in no runner's memory, and `recover` passes a live replica's rows by: stranded until it stops.
// So each transaction that wrote learns its id before COMMIT, and a COMMIT that fails without the server
// saying why is looked up (`txid_status`): committed, the transaction's result stands; aborted, the error does.
// When the server cannot be asked in time, the id is kept, and `settle` (the heartbeat) asks again later and
// makes the rows that transaction left in flight here due again (its caller took it for failed).
import pg from "pg";
import { IN_FLIGHT, PENDING, type Transaction } from "./context.js";

export interface Transactions {
  tx: Transaction;
  /** Look up the transactions whose outcome was unknown; release the rows of those that committed. */
  settle(): Promise<void>;
}

/**
 * `checkMs`: how long a failed COMMIT waits for the server to say what became of it, before the transaction
 * is taken for failed and settled later.
 */
export function transactions(pool: pg.Pool, replicaId: string, checkMs: number): Transactions {
  const unknown = new Set<string>();

  const statusOf = async (xid: string): Promise<string | null> => {
    const { rows } = await pool.query<{ status: string | null }>("SELECT txid_status($1::bigint) AS status", [
      xid,
    ]);
    return rows[0]?.status ?? null;
  };

  /** Whether the transaction committed: true, false, or undefined when the server did not say in time. */
  const committed = async (xid: string): Promise<boolean | undefined> => {
    const until = Date.now() + checkMs;
    for (let wait = 50; ; wait = Math.min(2 * wait, 1000)) {
      const left = until - Date.now();
      if (left <= 0) return undefined;
      const status = await within(statusOf(xid), left).catch(() => undefined);
      // Null: too old to know (never so for one this recent). In progress: its backend has not yet seen the
      // connection drop.
      if (status === "committed") return true;
      if (status === "aborted" || status === null) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, Math.max(0, until - Date.now()))));
    }
  };

  const tx: Transaction = async (work) => {
    const client = await pool.connect();
    let xid: string | null = null;
    let committing = false;
    let result: Awaited<ReturnType<typeof work>>;
    try {
      await client.query("BEGIN");
      result = await work(client);
      // Null for a transaction that wrote nothing (an empty claim): nothing to look up, nothing lost.
      xid = (await client.query<{ xid: string | null }>("SELECT txid_current_if_assigned()::text AS xid"))
        .rows[0]!.xid;
      committing = true;
      await client.query("COMMIT");
      client.release();
      return result;
    } catch (error) {
      let broken: Error | undefined;
      await client.query("ROLLBACK").catch((e: Error) => {
        broken = e;
      });
      client.release(broken);
      if (committing && xid !== null && !refused(error)) {
        const outcome = await committed(xid);
        if (outcome === true) return result!;
        if (outcome === undefined) unknown.add(xid);
      }
      throw error;
    }
  };

  return {
    tx,
    async settle() {
      for (const xid of unknown) {
        const status = await statusOf(xid);
        if (status === "committed") {
          // Rows it wrote in flight here and nothing has changed since (an update gives a row a new xmin).
          await pool.query(
            `UPDATE deliveries SET status = ${PENDING}, owner = NULL
             WHERE status = ${IN_FLIGHT} AND owner = $1 AND xmin = ($2::bigint % 4294967296)::text::xid`,
            [replicaId, xid],
          );
        }
        if (status !== "in progress") unknown.delete(xid);
      }
    },
  };
}

/**
 * The server answered the COMMIT with an error of its own (a serialization failure, a deferred constraint):
 * the transaction is rolled back, there is nothing to look up. A lost connection has no SQLSTATE; a
 * terminated backend's (57P01) or a crash's (57P02) may come before or after the commit took effect.
 */
function refused(error: unknown): boolean {
  if (!(error instanceof pg.DatabaseError)) return false;
  const code = error.code ?? "";
  return !code.startsWith("57") && !code.startsWith("08");
}

/** `promise`, or a rejection after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no answer in time")), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
