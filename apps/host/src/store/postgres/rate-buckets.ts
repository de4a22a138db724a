import { waitFor } from "../../engine/rate-limit.js";
import type { RateBuckets, RateLimit, TokenGrant } from "../types.js";
import type { Query } from "./context.js";

// The bucket refilled to now: what it held, plus what came back since, at most `burst`. Now is the
// statement's time on the database's clock: replicas whose clocks disagree still share one timeline. `at`
// never moves back (a statement that started before the last take but waited for its lock refills nothing).
const REFILLED = `LEAST($3::float8, b.tokens + $2::float8 * GREATEST(0, EXTRACT(EPOCH FROM statement_timestamp() - b.at)))`;
const GRANTED = `LEAST($4::float8, floor(${REFILLED} + 1e-9))`;

// One statement, so the row's lock makes takes from every replica one after another: a token is granted once.
// A new bucket starts full.
const TAKE = `
INSERT INTO rate_buckets AS b (action, tokens, granted, at)
VALUES ($1, $3::float8 - LEAST($4::float8, $3::float8), LEAST($4::float8, $3::float8), statement_timestamp())
ON CONFLICT (action) DO UPDATE SET
  tokens = GREATEST(0, ${REFILLED} - ${GRANTED}),
  granted = ${GRANTED},
  at = GREATEST(b.at, statement_timestamp())
RETURNING tokens, granted`;

/**
 * Rate-limit buckets in the database, shared by every replica on it (engine/rate-limit.ts). A replica that
 * dies holding a grant only leaves the budget unused; none keeps tokens of its own.
 */
export class PostgresBuckets implements RateBuckets {
  constructor(private readonly query: Query) {}

  async take(action: string, limit: RateLimit, want: number): Promise<TokenGrant> {
    const { rows } = await this.query<{ tokens: number; granted: number }>(TAKE, [
      action,
      limit.perSecond,
      limit.burst,
      Math.floor(want),
    ]);
    const row = rows[0]!;
    const granted = Number(row.granted);
    return { granted, waitMs: granted < want ? waitFor(Number(row.tokens), limit) : 0 };
  }
}
