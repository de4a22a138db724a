import { hostname, userInfo } from "node:os";
import { basename } from "node:path";
import { ConfigError } from "@switchyard/core";
import { adminTokensOf } from "./admin/roles.js";
import type { LoadedConfig } from "./config/load.js";
import { tenantsOf } from "./config/schema.js";
import type { ReloadSummary } from "./engine/action-set.js";
import type {
  ActionState,
  BreakerRecord,
  DeadLetterFilter,
  StateStore,
  StoreStats,
  SupersededDeadLetter,
} from "./store/types.js";

// The operator's operations on the state, shared by the CLI (`switchyard actions`, `switchyard dlq`) and the
// admin API behind the console, so that both select, count and change exactly the same things, and both
// record every change they make in the audit log with who made it (`actor`). A dry run changes nothing and
// is not recorded. The host records what it changes on its own too: an applied config reload, and an action
// it paused after too many consecutive failures (actor `switchyard`), so that the log explains every stop.

/** The host itself in the audit log (an action it paused after too many consecutive failures). */
export const SYSTEM_ACTOR = "switchyard";

/** The CLI's operator in the audit log: `cli:<user>@<host>`. */
export function cliActor(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // A uid without a passwd entry (some containers).
    user = process.env.USER ?? `uid${process.getuid?.() ?? "?"}`;
  }
  return `cli:${user}@${hostname()}`;
}

/** A dead-letter selection as the audit log keeps it: the fields set, times as ISO 8601. */
export function auditSelection(filter: DeadLetterFilter, extra: Record<string, unknown> = {}) {
  const selection: Record<string, unknown> = {};
  for (const key of ["action", "tenant", "eventId", "type", "limit"] as const) {
    if (filter[key] !== undefined) selection[key] = filter[key];
  }
  for (const key of ["since", "until"] as const) {
    const at = filter[key];
    if (at !== undefined) selection[key] = new Date(at).toISOString();
  }
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) selection[key] = value;
  return selection;
}

/** One configured action and its state, as `switchyard actions list --json` prints it. */
export interface ActionSummary {
  name: string;
  plugin: string;
  events: string[];
  /** The tenants whose events it takes: its `tenants`, or every tenant (`default` for a single `source`). */
  tenants: string[];
  enabled: boolean;
  paused: boolean;
  /** Why it is paused: `operator`, or the host's own reason when it paused the action itself. */
  reason?: string;
  /** When it was paused, or failed (ISO 8601). */
  since?: string;
  /** Why the host could not start it (its plugin failed to load, or its factory threw); its events wait. */
  failed?: string;
  /**
   * Not in the config (removed or renamed) while the store still holds deliveries of it: they wait, under this
   * name, for an action of that name to be configured again.
   */
  removed?: true;
  /** Deliveries waiting or in flight. */
  pending: number;
  /** Dead letters. */
  dead: number;
  /** Its rate limit, as configured: `5/s`, `30/min`, with `burst N` when above 1. */
  rateLimit?: string;
  /** Its circuit breaker, as configured: `20 failures, 30000 ms cool-down`. */
  circuitBreaker?: string;
  /** Its circuit breaker's state now, over the replicas running it (when it has a breaker, or one has a record). */
  circuit?: CircuitSummary;
}

/**
 * An action's breakers as the store has them: each replica keeps its own, so each one that is not closed is
 * listed, and `state` is the worst of them (open, then half-open, then closed).
 */
export interface CircuitSummary {
  state: "closed" | "open" | "half-open";
  replicas: CircuitReplica[];
}

/** One replica's breaker that is not closed. */
export interface CircuitReplica {
  replica: string;
  /** Open: nothing is attempted until `until`; half-open: one delivery probes (or will, when one is due). */
  state: "open" | "half-open";
  /** Since when (ISO 8601). */
  since: string;
  /** Open: when the cool-down ends (ISO 8601). */
  until?: string;
}

/** The breakers of one action now: an open breaker whose cool-down has ended lets a probe through (half-open). */
export function summarizeCircuit(records: readonly BreakerRecord[], now = Date.now()): CircuitSummary {
  const replicas = records.map((r): CircuitReplica => {
    const open = r.state === "open" && (r.until === undefined || r.until > now);
    return {
      replica: r.replica,
      state: open ? "open" : "half-open",
      since: new Date(open || r.until === undefined ? r.since : Math.max(r.since, r.until)).toISOString(),
      ...(open && r.until !== undefined ? { until: new Date(r.until).toISOString() } : {}),
    };
  });
  const state = replicas.some((r) => r.state === "open")
    ? "open"
    : replicas.length > 0
      ? "half-open"
      : "closed";
  return { state, replicas };
}

/** A rate limit for people: `5/s`, `30/min, burst 3`. */
export function describeRateLimit(limit: {
  perSecond?: number | undefined;
  perMinute?: number | undefined;
  burst: number;
}): string {
  const rate = limit.perSecond !== undefined ? `${limit.perSecond}/s` : `${limit.perMinute}/min`;
  return limit.burst > 1 ? `${rate}, burst ${limit.burst}` : rate;
}

/**
 * Every configured action, in config order, with its stored state and counts, then each action the store still
 * holds deliveries of that the config no longer has (`removed`); with `tenant`, only the actions that take
 * that tenant's events, counting that tenant's pending deliveries and dead letters (the caller checks that the
 * config has it).
 */
export async function summarizeActions(
  loaded: LoadedConfig,
  store: StateStore,
  tenant?: string,
): Promise<ActionSummary[]> {
  const [states, stats, breakers] = await Promise.all([
    store.actionStates(),
    store.stats(tenant),
    store.breakers(),
  ]);
  const now = Date.now();
  const serves = (action: (typeof loaded.config.actions)[number]) =>
    tenant === undefined || tenantsOf(action, loaded.config).includes(tenant);
  const configured = loaded.config.actions.filter(serves).map((action) => {
    const records = breakers.filter((b) => b.action === action.name);
    const state: ActionState | undefined = states[action.name];
    const paused = state?.paused === true;
    const failed = state?.failed;
    return {
      name: action.name,
      plugin: action.plugin,
      events: action.events,
      tenants: tenantsOf(action, loaded.config),
      enabled: action.enabled,
      paused,
      ...(paused && state?.reason !== undefined ? { reason: state.reason } : {}),
      ...(failed !== undefined ? { failed } : {}),
      ...((paused || failed !== undefined) && state?.since !== undefined
        ? { since: new Date(state.since).toISOString() }
        : {}),
      pending: stats.pending[action.name] ?? 0,
      dead: stats.dead[action.name] ?? 0,
      ...(action.rateLimit ? { rateLimit: describeRateLimit(action.rateLimit) } : {}),
      ...(action.circuitBreaker
        ? {
            circuitBreaker: `${action.circuitBreaker.failures} failures, ${action.circuitBreaker.coolDownMs} ms cool-down`,
          }
        : {}),
      ...(action.circuitBreaker || records.length > 0 ? { circuit: summarizeCircuit(records, now) } : {}),
    };
  });
  return [...configured, ...removedActions(loaded.config.actions, stats)];
}

/**
 * The actions the store holds deliveries or dead letters of that are not among `configured` (removed from the
 * config, or renamed), by name.
 */
export function removedActions(
  configured: ReadonlyArray<{ name: string }>,
  stats: StoreStats,
): ActionSummary[] {
  const known = new Set(configured.map((action) => action.name));
  const names = new Set([...Object.keys(stats.pending), ...Object.keys(stats.dead)]);
  return [...names]
    .filter((name) => !known.has(name) && (stats.pending[name] ?? 0) + (stats.dead[name] ?? 0) > 0)
    .sort()
    .map((name) => ({
      name,
      plugin: "",
      events: [],
      tenants: [],
      enabled: false,
      removed: true,
      paused: false,
      pending: stats.pending[name] ?? 0,
      dead: stats.dead[name] ?? 0,
    }));
}

/** Pause an action: running hosts stop starting its deliveries within a second; its events keep being stored. */
export async function pauseAction(store: StateStore, name: string, actor: string, now = Date.now()) {
  const was = (await store.actionStates())[name]?.paused === true;
  await store.setActionState(name, { paused: true, reason: "operator", since: now });
  await store.recordAudit({
    at: now,
    actor,
    operation: "pause",
    selection: { action: name },
    result: { wasPaused: was },
  });
}

/** Resume an action: running hosts deliver its waiting events first, within a second. */
export async function resumeAction(store: StateStore, name: string, actor: string, now = Date.now()) {
  const was = (await store.actionStates())[name]?.paused === true;
  await store.setActionState(name, { paused: false });
  await store.recordAudit({
    at: now,
    actor,
    operation: "resume",
    selection: { action: name },
    result: { wasPaused: was },
  });
}

/** True when the filter says which dead letters (a limit alone does not). */
export function selectsDeadLetters(filter: DeadLetterFilter): boolean {
  return [filter.action, filter.tenant, filter.eventId, filter.type, filter.since, filter.until].some(
    (v) => v !== undefined,
  );
}

/** A purge of every dead letter asked for without saying so. */
export class SelectionRequiredError extends Error {
  constructor(how: string) {
    super(`purging needs a selection (action, event, type, since, until) or ${how}`);
  }
}

/** What a replay did: how many dead letters are due again (or would be), and which it refused. */
export interface ReplayResult {
  count: number;
  /** Dead letters whose subject had a newer event delivered since (latest wins): left dead, unless forced. */
  refused: Array<SupersededDeadLetter & { reason: string }>;
}

/**
 * Make the selected dead letters due again (attempts reset); with `dryRun`, only count them. One whose
 * subject had a newer event delivered to its action since is refused (replaying it would undo that one),
 * unless `force`.
 */
export async function replayDeadLetters(
  store: StateStore,
  filter: DeadLetterFilter,
  options: { actor: string; dryRun?: boolean | undefined; force?: boolean | undefined; now?: number },
): Promise<ReplayResult> {
  const superseded = options.force ? [] : await store.supersededDead(filter);
  const refused = superseded.map((s) => ({ ...s, reason: refusalReason(s) }));
  if (options.dryRun) {
    return { count: Math.max(0, (await store.countDead(filter)) - superseded.length), refused };
  }
  const now = options.now ?? Date.now();
  const count = await store.replayDead(filter, now, superseded);
  await store.recordAudit({
    at: now,
    actor: options.actor,
    operation: "replay",
    selection: auditSelection(filter, { force: options.force || undefined }),
    result: { count, refused: refused.length },
  });
  return { count, refused };
}

/** Why a dead letter is not replayed, for people. */
export function refusalReason(s: SupersededDeadLetter): string {
  const newer = s.newerEventId ? `${s.newerEventId}, ${s.newerTime}` : s.newerTime;
  return `a newer event of its subject was delivered to ${s.action} since (${newer}): replaying ${s.eventId} would undo it`;
}

/**
 * Delete the selected dead letters for good; with `dryRun`, only count them. An empty selection must be
 * asked for with `all` (`how` names that switch in the caller's words: `--all`, `"all": true`).
 */
export async function purgeDeadLetters(
  store: StateStore,
  filter: DeadLetterFilter,
  options: { actor: string; all?: boolean | undefined; dryRun?: boolean | undefined; how: string },
): Promise<number> {
  if (!options.all && !selectsDeadLetters(filter)) throw new SelectionRequiredError(options.how);
  if (options.dryRun) return store.countDead(filter);
  const count = await store.purgeDead(filter);
  await store.recordAudit({
    at: Date.now(),
    actor: options.actor,
    operation: "purge",
    selection: auditSelection(filter, { all: options.all || undefined }),
    result: { count },
  });
  return count;
}

/**
 * Drop what waits in the store for `name`, an action no longer in the config (removed or renamed): its
 * deliveries and dead letters, every tenant's (one in flight on a running host ends as usual). Refused for a
 * configured action (pause it, or purge its dead letters). Returns what waited, and how many it dropped (none of
 * the deliveries in flight; nothing on a dry run).
 */
export async function forgetAction(
  loaded: LoadedConfig,
  store: StateStore,
  name: string,
  options: { actor: string; dryRun?: boolean | undefined },
): Promise<{ pending: number; dead: number; dropped?: number }> {
  if (loaded.config.actions.some((action) => action.name === name)) {
    throw new ConfigError(
      `"${name}" is in ${basename(loaded.file)}: only an action no longer in the config can be forgotten (pause it, or purge its dead letters with \`switchyard dlq purge --action ${name}\`)`,
    );
  }
  const stats = await store.stats();
  const counted = { pending: stats.pending[name] ?? 0, dead: stats.dead[name] ?? 0 };
  if (options.dryRun || counted.pending + counted.dead === 0) return counted;
  const count = await store.purgeAction(name);
  await store.recordAudit({
    at: Date.now(),
    actor: options.actor,
    operation: "forget",
    selection: { action: name },
    result: { count },
  });
  return { ...counted, dropped: count };
}

/**
 * Record an applied config reload: who asked (`signal:SIGHUP`, an admin token's name), on which replica, and
 * what changed: the actions added, changed and removed, and the admin tokens by name (never their values).
 */
export async function recordReload(
  store: StateStore,
  reload: { actor: string; replica: string; was: LoadedConfig; next: LoadedConfig; summary: ReloadSummary },
  now = Date.now(),
): Promise<void> {
  const { added, changed, removed, unchanged } = reload.summary;
  const tokens = tokenChanges(reload.was, reload.next);
  await store.recordAudit({
    at: now,
    actor: reload.actor,
    operation: "reload",
    selection: { file: reload.next.file, replica: reload.replica },
    result: { added, changed, removed, unchanged, ...(tokens ? { adminTokens: tokens } : {}) },
  });
}

/** The admin tokens a reload added, removed or changed (role or value), by name; undefined: none. */
function tokenChanges(was: LoadedConfig, next: LoadedConfig) {
  const before = new Map(adminTokensOf(was.config.server).map((t) => [t.name, t]));
  const after = new Map(adminTokensOf(next.config.server).map((t) => [t.name, t]));
  const added = [...after.keys()].filter((name) => !before.has(name));
  const removed = [...before.keys()].filter((name) => !after.has(name));
  const changed = [...after.values()]
    .filter((t) => {
      const old = before.get(t.name);
      return old !== undefined && (old.role !== t.role || old.token !== t.token);
    })
    .map((t) => t.name);
  return added.length + removed.length + changed.length > 0 ? { added, removed, changed } : undefined;
}
