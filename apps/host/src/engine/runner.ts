import {
  type Action,
  type ActionCache,
  type Auth0Event,
  backoffDelay,
  describeError,
  type EncodedEvent,
  type EventStreamApi,
  type EventStreamEvent,
  encodedEvent,
  type Logger,
  type Outcome,
  type TraceContext,
} from "@switchyard/core";
import { type AttemptFailure, AttemptMessage, runAttempt } from "@switchyard/core/internal";
import type { ActionConfig } from "../config/schema.js";
import { actionLogger, type HostLogger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { eventTimeMs, isNewer, newest } from "../store/latest.js";
import type {
  AttemptLogLine,
  AttemptOutcome,
  Completion,
  LatestMark,
  StateStore,
  Watermark,
} from "../store/types.js";
import type { DeliveryTracing } from "../telemetry/index.js";
import {
  type ConsoleLevel,
  type ConsoleSink,
  installActionConsole,
  withActionConsole,
} from "./action-console.js";
import { DeadlineWindows } from "./deadlines.js";
import type { HistoryWriter } from "./history.js";
import { KeyTurns } from "./key-turns.js";
import { ActionMatcher } from "./matching.js";
import { Pacing, type PacingView } from "./pacing.js";
import { LocalBuckets, rateLimitOf } from "./rate-limit.js";
import { filteredBy } from "./shaping.js";
import type { CompletionWriter } from "./tracking.js";
import { DeliveryLedger, type Hold } from "./tracking.js";

/** Room (deliveries) an action needs before the next stream read is taken: about one socket read. */
export const READ_AHEAD = 128;

/** How many console lines of one attempt are kept with it, and how long each may be. */
export const ATTEMPT_LINES = { max: 50, maxChars: 2048 } as const;

/**
 * The `api` of one attempt. Its `log` and `message` are made when first used: most attempts never log, and
 * never fail on purpose. It is also the sink of the attempt's console lines (file actions).
 */
class AttemptApi implements EventStreamApi, AttemptFailure, ConsoleSink {
  #logger: Logger | undefined;
  #message: AttemptMessage | undefined;
  readonly #host: HostLogger;
  readonly #redact: (text: string) => string;
  #closed = false;
  /** The console lines kept with the attempt (at most ATTEMPT_LINES.max), redacted. */
  lines: AttemptLogLine[] | undefined;
  /** Lines printed past the limit: counted, and said in the last kept line. */
  linesDropped = 0;
  /** The attempt's trace context, when traces are exported. */
  trace: TraceContext | undefined;

  constructor(
    readonly cache: ActionCache,
    readonly attempt: number,
    readonly action: { readonly name: string },
    readonly signal: AbortSignal,
    host: HostLogger,
    readonly eventId: string,
    redact: (text: string) => string,
  ) {
    this.#host = host;
    this.#redact = redact;
  }

  get log(): Logger {
    this.#logger ??= actionLogger(this.#host, () => ({
      action: this.action.name,
      eventId: this.eventId,
      attempt: this.attempt,
    }));
    return this.#logger;
  }

  get message(): AttemptMessage {
    this.#message ??= new AttemptMessage();
    return this.#message;
  }

  get failure(): string | undefined {
    return this.#message?.failure;
  }

  /** A console line of the action: to the host's log as the action's (redacted there), and kept. */
  line(level: ConsoleLevel, text: string): void {
    this.log[level](text);
    if (this.#closed) return;
    this.lines ??= [];
    if (this.lines.length < ATTEMPT_LINES.max) {
      // Redacted before it is cut, so that a secret across the cut cannot survive in part.
      const clean = this.#redact(text);
      const message =
        clean.length > ATTEMPT_LINES.maxChars ? `${clean.slice(0, ATTEMPT_LINES.maxChars - 1)}…` : clean;
      this.lines.push({ level, message, at: Date.now() });
    } else {
      this.linesDropped++;
    }
  }

  /**
   * The lines to keep with the attempt, the last one saying how many more there were. Lines printed later (a
   * timer the attempt left behind) still reach the host's log, but not the recorded attempt.
   */
  keptLines(): AttemptLogLine[] | undefined {
    this.#closed = true;
    const last = this.lines?.at(-1);
    if (last && this.linesDropped > 0)
      last.message += ` (and ${this.linesDropped} more lines in the host's log)`;
    return this.lines;
  }
}

/**
 * The action instance a runner's attempts run on, with its settings and time budgets. A reload swaps in a
 * new one; attempts in flight finish on the one they started with, which is closed once the last has.
 */
interface Instance {
  readonly action: Action;
  readonly config: ActionConfig;
  readonly userCode: boolean;
  readonly deadlines: DeadlineWindows;
  inflight: number;
  /** Called when the last attempt on a replaced instance finishes. */
  drained: (() => void) | undefined;
}

/** A delivery in the runner's memory, about to run. */
export interface Job {
  key: number;
  event: Auth0Event;
  /** The event's JSON as stored, handed to the action (`event.encoded`). */
  encoded: EncodedEvent;
  /** Attempts already made. */
  attempts: number;
  /** A replayed dead letter: its attempts before (ClaimedDelivery.attemptsBefore); the history counts on. */
  attemptsBefore?: number | undefined;
  /** For a delivery held since ingest (no row): its entry in the ledger. Undefined for a row read from the store. */
  hold: Hold | undefined;
  /** Its order key (ordered actions), else null. */
  orderKey: string | null;
  /** The event's trace context (`IngestEvent.trace`), when it has one. */
  trace?: string | undefined;
  /** The tenant whose event it is, for the history; undefined is `default` (as `ClaimedDelivery.tenant`). */
  tenant?: string | undefined;
}

/** Why a delivery went back to the store without an attempt, behind an earlier one of its key. */
const WAITS_BEHIND = "waiting behind an earlier event of its subject, which will be retried";

export interface RunnerDeps {
  config: ActionConfig;
  action: Action;
  cache: ActionCache;
  store: StateStore;
  completions: CompletionWriter;
  metrics: Metrics;
  log: HostLogger;
  redact: (text: string) => string;
  /**
   * User code (file actions): give it its own copy of each event, so it cannot change what others see, and
   * route its console to the host's log as the action's lines.
   */
  userCode: boolean;
  /**
   * The config lists several tenants: an action serving more than one keys its subjects (order, latest
   * wins) by the event's `a0tenant` too, since two tenants may share an id (one Google account's user id).
   */
  severalTenants?: boolean | undefined;
  /** How often to look for due deliveries written by others (retries, `dlq replay`, `send-test`). */
  pollMs?: number;
  /** Where each attempt is recorded (undefined: `history.retention: off`). */
  history?: HistoryWriter | undefined;
  /** This host's replica id, recorded with each attempt. */
  replica?: string;
  /** Spans of attempts (undefined: traces off, and nothing else here costs anything). */
  tracing?: DeliveryTracing | undefined;
  /**
   * Why the action could not be started (its plugin failed to load, or its factory threw). A failed runner
   * attempts nothing and cannot be resumed: its deliveries wait in the store until a host starts it.
   */
  failure?: string | undefined;
}

/**
 * Runs one action's deliveries: at most `concurrency` at once, from a bounded in-memory queue that the
 * ingest step fills directly (held deliveries, see tracking.ts) and the store refills (retries, backlog,
 * replays). A slow or failing action only ever fills its own queue; what does not fit waits in the store, so
 * memory stays bounded. A paused runner attempts nothing: its deliveries wait in the store until it resumes.
 */
export class ActionRunner {
  readonly name: string;
  readonly ordered: boolean;
  capacity: number;
  /** Why this action could not be started, if it could not (see `RunnerDeps.failure`). */
  readonly failure: string | undefined;
  private readonly identity: { readonly name: string };
  private matcher: ActionMatcher;
  /** What new attempts run on (see `reconfigure`). */
  private current: Instance;
  /** Replaced instances with attempts still in flight (aborted with the rest at shutdown). */
  private readonly draining = new Set<Instance>();
  private readonly queue: Job[] = [];
  /** Ordered actions: one delivery per order key queued or running; the others wait behind it. */
  private readonly turns = new KeyTurns<Job>();
  /**
   * Keys with a delivery on its way back to the store (a retry, or one sent back unattempted), with how
   * many: until its row is written nothing else of the key may run, because the store's order cannot see a
   * row before it is there (its row is still in flight, which holds no later one back on SQLite).
   */
  private readonly retrying = new Map<string, number>();
  /**
   * Keys whose retry row was written while an ingest or a claim was under way, by the count of such writes
   * then. The store decided whether that ingest's delivery of the key could be held, or which rows of the key
   * that claim could take, from its own view, which may be older than the row (on Postgres the ingest, the
   * claims and the completions run on different connections, and either answer may come first): such a
   * delivery goes to the store too, behind the retry (`takeHeld`, `refill`).
   */
  private readonly reopened = new Map<string, number>();
  private reopenings = 0;
  /** Ingests and claims under way, by the value of `reopenings` when each began (`beginIngest`). */
  private readonly ingests = new Map<number, number>();
  /** Latest wins: marks this runner set lately (see `remember`). */
  private readonly marks = new Map<string, LatestMark>();
  /** A delivery that had a row finished: rows of its key may be claimable now (ordered actions). */
  private rowFinished = false;
  private readonly ledger: DeliveryLedger;
  /** Called when an attempt finishes or the runner resumes, and it has room for another stream read. */
  onSpace: (() => void) | undefined;
  /** Called once when this runner pauses itself after `pauseAfterFailures` consecutive failed attempts. */
  onAutoPause: ((reason: string) => void) | undefined;
  private inflight = 0;
  private paused = false;
  /** Failed attempts since the last success (auto-pause). */
  private failures = 0;
  private storeHasWork = true;
  private claiming = false;
  /** Counts notifications of store work, to tell whether one came during a claim. */
  private notified = 0;
  private stopping = false;
  private shuttingDown = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private idleWaiters: Array<() => void> = [];
  private readonly attemptCounters;
  private readonly finishedCounters;
  private readonly histogram;
  /** The action's rate limit and circuit breaker, asked before deliveries start (pacing.ts). */
  private readonly pacing: Pacing;

  constructor(private deps: RunnerDeps) {
    const { config } = deps;
    this.matcher = new ActionMatcher(config, deps.severalTenants === true);
    this.current = newInstance(deps.action, config, deps.userCode);
    this.name = this.matcher.name;
    this.ordered = this.matcher.ordered;
    this.ledger = new DeliveryLedger(this.name, deps.store.heldDeliveries);
    this.failure = deps.failure;
    // Paused for good: the ingest step stores its deliveries (rows) and nothing claims them.
    if (this.failure !== undefined) this.paused = true;
    this.identity = Object.freeze({ name: this.name });
    this.capacity = capacityOf(config);
    const m = deps.metrics;
    this.attemptCounters = {
      delivered: m.attempts.labels(this.name, "delivered"),
      retryable: m.attempts.labels(this.name, "retryable"),
      permanent: m.attempts.labels(this.name, "permanent"),
    };
    this.finishedCounters = {
      delivered: m.deliveries.labels(this.name, "delivered"),
      dead: m.deliveries.labels(this.name, "dead"),
      stale: m.deliveries.labels(this.name, "stale"),
      filtered: m.deliveries.labels(this.name, "filtered"),
    };
    this.histogram = m.duration.labels(this.name);
    m.track(this.name, () => this.ledger.withoutRow());
    this.pacing = new Pacing({
      name: this.name,
      config,
      buckets: deps.store.rateBuckets ?? new LocalBuckets(),
      breakers: deps.store,
      replica: deps.replica ?? "host",
      metrics: m,
      log: deps.log,
      onReady: () => this.pump(),
    });
    if (deps.userCode) installActionConsole();
  }

  /** Whether this action gets the event (its patterns, and its test-event setting). */
  accepts(event: Auth0Event, tenant?: string): boolean {
    return this.matcher.accepts(event, tenant);
  }

  keyOf(event: Auth0Event): string | null {
    return this.matcher.keyOf(event);
  }

  /** Room for deliveries the ingest step may hand over directly (none for paused actions). */
  freeSlots(): number {
    if (this.stopping || this.paused) return 0;
    return Math.max(0, this.capacity - this.queue.length - this.inflight - this.turns.waiting);
  }

  /**
   * Whether the ingest step may hand over a delivery of this order key in memory: not while the key's
   * retry is on its way to the store. One of a key that is queued or running here waits behind it, in
   * memory (a busy subject costs no row); the store declines one whose key has an unfinished row (see
   * `IngestResult.declined`), which then waits there.
   */
  canHold(orderKey: string | null): boolean {
    return orderKey === null || !this.retrying.has(orderKey);
  }

  start(): void {
    if (this.failure !== undefined) return;
    this.pollTimer = setInterval(() => this.notifyStoreWork(), this.deps.pollMs ?? 500);
    this.pollTimer.unref();
    this.refill();
  }

  /**
   * Run new attempts on another instance of this action, with its new settings (a reload). Attempts in
   * flight finish on the old instance; resolves when the last of them has, so the caller can close it.
   * Its name and whether it is ordered stay (the host refuses a reload that changes them).
   */
  reconfigure(action: Action, config: ActionConfig, userCode: boolean): Promise<void> {
    const old = this.current;
    this.deps = { ...this.deps, action, config, userCode };
    if (userCode) installActionConsole();
    this.matcher = new ActionMatcher(config, this.deps.severalTenants === true);
    this.capacity = capacityOf(config);
    this.current = newInstance(action, config, userCode);
    this.pacing.configure(config);
    this.pump();
    if (old.inflight === 0) return Promise.resolve();
    this.draining.add(old);
    return new Promise<void>((resolve) => {
      old.drained = () => {
        this.draining.delete(old);
        resolve();
      };
    });
  }

  /**
   * The action was removed (a reload): hand the deliveries waiting in memory back to the store as due rows,
   * where they stay, and stop as at shutdown (attempts in flight finish within `graceMs`).
   */
  async retire(graceMs: number): Promise<void> {
    this.returnQueued("its action was removed from the config");
    await this.stop(graceMs);
  }

  /** The ingest step wrote events up to this key (held by this action or not): the watermark may pass them. */
  ingested(upto: number): void {
    this.ledger.ingested(upto);
  }

  /** Held deliveries that are unsettled and have no row: unfinished work the store does not count. */
  heldWithoutRow(): number {
    return this.ledger.withoutRow();
  }

  /**
   * As results are sent to the store: add rows for held deliveries running long to `out`, and return the
   * action's watermark; none when the store gives held deliveries rows itself (tracking.ts).
   */
  checkpoint(now: number, out: Completion[]): Watermark | undefined {
    if (this.ledger.tracking !== "watermark") return undefined;
    return { action: this.name, upto: this.ledger.checkpoint(now, out) };
  }

  /**
   * An ingest (or this runner's claim) begins: what it hands over (`takeHeld`, or the claim's rows) names this
   * mark; `endIngest` when it is done.
   */
  beginIngest(): number {
    const mark = this.reopenings;
    this.ingests.set(mark, (this.ingests.get(mark) ?? 0) + 1);
    return mark;
  }

  endIngest(mark: number): void {
    const left = (this.ingests.get(mark) ?? 1) - 1;
    if (left > 0) this.ingests.set(mark, left);
    else this.ingests.delete(mark);
    if (this.ingests.size === 0) this.reopened.clear();
  }

  /**
   * A delivery the ingest step hands over in memory: it has no row, only its entry in the ledger. `since`:
   * the ingest's mark (`beginIngest`); a key reopened after it goes to the store, as the store's order needs.
   */
  takeHeld(
    key: number,
    event: Auth0Event,
    encoded: EncodedEvent,
    now: number,
    orderKey: string | null = null,
    trace?: string,
    tenant?: string,
    since = Number.POSITIVE_INFINITY,
  ): void {
    const hold = this.ledger.hold(key, now, orderKey);
    const job: Job = { key, event, encoded, attempts: 0, hold, orderKey, trace, tenant };
    if (orderKey !== null && (this.reopened.get(orderKey) ?? Number.NEGATIVE_INFINITY) > since) {
      this.sendBack(job, now, WAITS_BEHIND);
      return;
    }
    this.admit(job);
    this.pump();
  }

  /** Queue a job, or let it wait behind the delivery of its key that is queued or running. */
  private admit(job: Job): void {
    if (job.orderKey !== null && this.retrying.has(job.orderKey)) {
      this.sendBack(job, Date.now(), WAITS_BEHIND);
      return;
    }
    if (job.orderKey === null || this.turns.enter(job.orderKey, job)) this.enqueue(job);
  }

  private enqueue(job: Job): void {
    this.queue.push(job);
    this.pacing.queued(job);
  }

  /** Send a job back to the store, due now, without an attempt (its attempts unchanged). */
  private sendBack(job: Job, now: number, error: string): void {
    this.ledger.settle(job.hold);
    this.retry(job, job.attempts, now, error);
  }

  /** The delivery goes back to the store, due at `dueAt`; its key is closed here until the row is written. */
  private retry(job: Job, attempts: number, dueAt: number, error: string): void {
    const { orderKey } = job;
    if (orderKey !== null) this.retrying.set(orderKey, (this.retrying.get(orderKey) ?? 0) + 1);
    this.deps.completions.add({
      key: job.key,
      action: this.name,
      result: "retry",
      attempts,
      dueAt,
      error,
      ...(orderKey !== null ? { orderKey } : {}),
    });
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Whether the action has a rate limit: its backlog waits in the store, and it never holds the stream. */
  get isRateLimited(): boolean {
    return this.current.config.rateLimit !== undefined;
  }

  /**
   * Stop attempting: attempts in flight finish, deliveries waiting in memory go back to the store as due
   * (nothing lost), and nothing more is read from it until `resume`.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.returnQueued("paused before its attempt");
  }

  /** Deliveries waiting in memory go back to the store as due rows (nothing lost). */
  private returnQueued(reason: string): void {
    const now = Date.now();
    const queued = this.queue.splice(0);
    // Queued jobs hold their keys' turns: give them up; running ones keep theirs until they finish.
    for (const job of queued) if (job.orderKey !== null) this.turns.leave(job.orderKey);
    for (const job of [...queued, ...this.turns.drainWaiting()]) {
      this.sendBack(job, now, reason);
    }
  }

  /** Deliver again, starting with the backlog the store kept, oldest first. */
  resume(): void {
    if (!this.paused || this.failure !== undefined) return;
    this.paused = false;
    this.failures = 0;
    this.notifyStoreWork();
    this.onSpace?.();
  }

  /** The store may hold due deliveries for this action. */
  notifyStoreWork(): void {
    this.storeHasWork = true;
    this.notified++;
    this.refill();
  }

  private refill(): void {
    if (this.stopping || this.paused || this.claiming || !this.storeHasWork) return;
    // What waits behind a key counts: a claim may bring rows that wait there too.
    const room = this.capacity - this.queue.length - this.inflight - this.turns.waiting;
    if (room < Math.max(1, this.capacity / 4)) return;
    this.claiming = true;
    const notified = this.notified;
    // As for an ingest: the store chose the rows from a view that may predate a retry row written meanwhile
    // on another connection (Postgres), so a claimed row of a key reopened since goes back behind the retry.
    const mark = this.ordered ? this.beginIngest() : undefined;
    this.deps.store.claim(this.name, room, Date.now(), this.ordered).then(
      (claimed) => {
        // Unless told of new work while the claim was on its way, a short claim emptied the store.
        if (claimed.length < room && notified === this.notified) this.storeHasWork = false;
        const now = Date.now();
        for (const row of claimed) {
          const encoded = encodedEvent(row.payload);
          const event = JSON.parse(row.payload) as Auth0Event;
          const orderKey = this.ordered ? this.keyOf(event) : null;
          const { key, attempts, attemptsBefore, trace, tenant } = row;
          const job: Job = {
            key,
            event,
            encoded,
            attempts,
            attemptsBefore,
            hold: undefined,
            orderKey,
            trace,
            tenant,
          };
          if (orderKey !== null && (this.reopened.get(orderKey) ?? Number.NEGATIVE_INFINITY) > mark!) {
            this.sendBack(job, now, WAITS_BEHIND);
          } else this.admit(job);
        }
        if (mark !== undefined) this.endIngest(mark);
        this.claiming = false;
        this.pump();
        this.refill();
      },
      (error: unknown) => {
        if (mark !== undefined) this.endIngest(mark);
        this.claiming = false;
        this.deps.log.error(
          { action: this.name, err: error },
          "could not read due deliveries from the store",
        );
      },
    );
  }

  private pump(): void {
    if (this.stopping || this.paused) return;
    const ready = Math.min(this.queue.length, this.current.config.concurrency - this.inflight);
    // What the rate limit or the circuit breaker holds back waits here, in order; they call pump again.
    for (let allowed = this.pacing.allow(ready); allowed > 0 && this.queue.length > 0; allowed--) {
      const job = this.queue.shift()!;
      const instance = this.current;
      this.inflight++;
      instance.inflight++;
      this.pacing.started(job);
      this.run(job, instance).catch((error: unknown) => this.lost(job, instance, error));
    }
  }

  /** This host's view of the action's rate limit and circuit breaker. */
  pacingView(): PacingView {
    return this.pacing.view();
  }

  /** One attempt; whatever the event holds, a failure here is this delivery's outcome, never a throw. */
  private invoke(instance: Instance, job: Job, api: AttemptApi, expired: Promise<never>): Promise<Outcome> {
    const { action, config, userCode } = instance;
    let message: Auth0Event;
    try {
      // Each file action gets its own copy to change as it likes (Auth0 runs each in its own sandbox).
      message = userCode ? structuredClone(job.event) : job.event;
    } catch (error) {
      const reason = `the event could not be copied for the action: ${describeError(error)}`;
      return Promise.resolve({ status: "permanent", error, message: reason, durationMs: 0 });
    }
    const event: EventStreamEvent = { message, secrets: config.secrets, encoded: job.encoded };
    // A file action's console.* lines become this attempt's log lines (and only a file action pays for it).
    return userCode
      ? withActionConsole(api, () => runAttempt(action, event, api, expired))
      : runAttempt(action, event, api, expired);
  }

  /**
   * A throw out of `run` is a bug of the host, not of the event or the action: log it and keep going. The
   * delivery stays unfinished in the store, and the next start runs it again.
   */
  private lost(job: Job, instance: Instance, error: unknown): void {
    this.deps.log.error(
      { action: this.name, eventId: job.event.id, err: error },
      "a delivery failed inside the host; it runs again at the next start",
    );
    this.pacing.finished(job, undefined);
    if (--instance.inflight === 0 && instance !== this.current) instance.drained?.();
    this.inflight--;
    if (this.inflight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    this.pump();
  }

  private async run(job: Job, instance: Instance): Promise<void> {
    const latest = instance.config.latestWins ? await this.checkLatest(job) : undefined;
    let outcome: Outcome | undefined;
    if (latest === undefined || "mark" in latest) outcome = await this.attempt(job, instance, latest?.mark);
    else if ("stale" in latest) this.skipStale(job, latest.stale);
    else {
      // Not known whether it is stale: try again shortly, its subject's later events behind it.
      const dueAt = Date.now() + 1000;
      this.sendBack(job, dueAt, latest.error);
      if (job.orderKey !== null) this.holdBack(job.orderKey);
      this.scheduleWake(dueAt);
    }
    // An attempt cut off by shutdown says nothing about the destination.
    this.pacing.finished(job, this.shuttingDown ? undefined : outcome);
    if (--instance.inflight === 0 && instance !== this.current) instance.drained?.();
    this.inflight--;
    if (this.inflight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    this.pump();
    // Only when it makes a difference to the ingest path: waking it at every attempt cost a promise and a
    // pass over the runners per delivery.
    if (this.freeSlots() >= READ_AHEAD) this.onSpace?.();
  }

  /**
   * Latest wins: whether a newer event of the job's subject was delivered to this action already (the
   * store's mark, or one this runner set that may not have reached the store yet). Returns the mark the job
   * sets if it is delivered; nothing for an event without a subject or a readable time.
   */
  private async checkLatest(
    job: Job,
  ): Promise<
    { mark: { subject: string; time: number } } | { stale: string } | { error: string } | undefined
  > {
    const subject = this.matcher.subjectOf(job.event);
    const time = eventTimeMs(job.event.time);
    if (subject === undefined || time === undefined) return undefined;
    let stored: LatestMark | undefined;
    try {
      stored = await this.deps.store.latestDelivered(this.name, subject);
    } catch (error) {
      return { error: `could not read the latest delivery of its subject: ${describeError(error)}` };
    }
    const mark = newest(stored, this.marks.get(subject));
    if (mark !== undefined && isNewer(mark, time, job.key)) {
      return {
        stale: `stale: an event of ${subject} from ${new Date(mark.time).toISOString()} was delivered already`,
      };
    }
    return { mark: { subject, time } };
  }

  /** A stale event: done without an attempt (latest wins). */
  private skipStale(job: Job, reason: string): void {
    const rowless = this.ledger.settle(job.hold);
    if (!rowless) this.rowFinished = true;
    this.deps.completions.add({ key: job.key, action: this.name, result: "delivered", rowless });
    this.finishedCounters.stale.inc();
    this.record(job, job.attempts + 1, undefined, Date.now(), 0, "stale", undefined, reason);
    this.deps.log.info({ action: this.name, eventId: job.event.id, reason }, "stale event skipped");
    this.nextTurn(job.orderKey);
  }

  private async attempt(
    job: Job,
    instance: Instance,
    latest: { subject: string; time: number } | undefined,
  ): Promise<Outcome> {
    const { cache, redact } = this.deps;
    const { config, deadlines } = instance;
    const attempt = job.attempts + 1;
    const deadline = deadlines.enter();
    const name = this.name;
    const api = new AttemptApi(
      cache,
      attempt,
      this.identity,
      deadline.signal,
      this.deps.log,
      job.event.id,
      redact,
    );
    const span = this.deps.tracing?.attempt(job.event, job.trace, {
      action: name,
      plugin: config.plugin,
      number: attempt,
    });
    if (span) api.trace = span.context;
    const startedAt = Date.now();
    const outcome = await this.invoke(instance, job, api, deadline.expired);
    deadlines.leave(deadline);
    span?.end(outcome, {
      status: outcome.status === "delivered" ? undefined : statusOf(outcome.error),
      exhausted: attempt >= config.retry.maxAttempts,
      interrupted: this.shuttingDown,
    });
    this.histogram.observe(outcome.durationMs / 1000);
    // An event its transform skipped (shaping.ts) is done, as if delivered, and recorded as `filtered`.
    const filtered = filteredBy(outcome);
    if (filtered === undefined) this.attemptCounters[outcome.status].inc();
    const orderKey = job.orderKey;
    if (outcome.status === "delivered" || filtered !== undefined) {
      if (filtered === undefined) this.failures = 0;
      this.finishedCounters[filtered === undefined ? "delivered" : "filtered"].inc();
      const rowless = this.ledger.settle(job.hold);
      if (!rowless) this.rowFinished = true;
      this.deps.completions.add({
        key: job.key,
        action: name,
        result: "delivered",
        rowless,
        ...(latest ? { latest } : {}),
      });
      if (latest) this.remember(latest.subject, { time: latest.time, key: job.key });
      // The destination's status, when the action named it (`DeliveryReceipt`), read as a failure's is.
      const answered = { status: outcome.status === "delivered" ? outcome.httpStatus : undefined };
      this.record(
        job,
        attempt,
        api.keptLines(),
        startedAt,
        outcome.durationMs,
        filtered === undefined ? "delivered" : "filtered",
        answered,
        filtered,
      );
      this.nextTurn(orderKey);
    } else if (this.shuttingDown && outcome.status !== "permanent") {
      // Cut off by shutdown: not a real failure. Leave it unfinished (in flight, or above the watermark);
      // the next start runs it again.
    } else {
      this.ledger.settle(job.hold);
      const error = redact(outcome.message).slice(0, 2000);
      this.failures++;
      const exhausted = attempt >= config.retry.maxAttempts;
      if (outcome.status === "permanent" || exhausted) {
        this.finishedCounters.dead.inc();
        const reason = outcome.status === "permanent" ? error : `gave up after ${attempt} attempts: ${error}`;
        this.deps.completions.add({
          key: job.key,
          action: name,
          result: "dead",
          attempts: attempt,
          error: reason,
          ...(orderKey !== null ? { orderKey } : {}),
        });
        // A dead letter does not hold its subject back: the next event of the key may run.
        this.rowFinished = true;
        this.nextTurn(orderKey);
        this.record(
          job,
          attempt,
          api.keptLines(),
          startedAt,
          outcome.durationMs,
          "dead",
          outcome.error,
          reason,
        );
        this.deps.log.warn(
          { action: this.name, eventId: job.event.id, attempts: attempt, error: reason },
          "delivery dead-lettered",
        );
      } else {
        const delay =
          outcome.retryAfterMs !== undefined
            ? Math.min(outcome.retryAfterMs, 60 * 60_000)
            : backoffDelay(attempt, {
                initialMs: config.retry.initialDelayMs,
                maxMs: config.retry.maxDelayMs,
                factor: config.retry.factor,
              });
        const dueAt = Date.now() + delay;
        this.retry(job, attempt, dueAt, error);
        // The key's later events wait in the store, behind this retry's row (the store orders them).
        if (orderKey !== null) this.holdBack(orderKey);
        this.record(
          job,
          attempt,
          api.keptLines(),
          startedAt,
          outcome.durationMs,
          "retrying",
          outcome.error,
          error,
        );
        this.deps.log.info(
          { action: this.name, eventId: job.event.id, attempt, retryInMs: delay, error },
          "delivery failed, will retry",
        );
        this.scheduleWake(dueAt);
      }
      const limit = config.pauseAfterFailures;
      if (limit > 0 && this.failures >= limit && !this.paused) {
        this.pause();
        this.onAutoPause?.(`${this.failures} consecutive failed attempts; the last: ${error}`);
      }
    }
    return outcome;
  }

  /**
   * Latest wins: this runner's own newest marks, which a check consults beside the store's until the
   * completion that carries them is flushed (the next event of a subject can run before that). Bounded: an
   * old entry dropped is in the store by then.
   */
  private remember(subject: string, mark: LatestMark): void {
    this.marks.delete(subject);
    this.marks.set(subject, mark);
    if (this.marks.size > 10_000) this.marks.delete(this.marks.keys().next().value!);
  }

  private record(
    job: Job,
    attempt: number,
    logs: AttemptLogLine[] | undefined,
    startedAt: number,
    durationMs: number,
    outcome: AttemptOutcome,
    failure?: unknown,
    error?: string,
  ): void {
    this.deps.history?.add({
      action: this.name,
      tenant: job.tenant,
      eventId: job.event.id,
      eventKey: job.key,
      eventType: job.event.type,
      attempt: (job.attemptsBefore ?? 0) + attempt,
      startedAt,
      durationMs,
      outcome,
      status: statusOf(failure),
      error,
      replica: this.deps.replica ?? "",
      logs,
    });
  }

  /**
   * The key's delivery goes back to the store to be retried: what waits behind it goes back too, and the
   * key stays closed here until the retry's row is written (`afterFlush`).
   */
  private holdBack(orderKey: string): void {
    const now = Date.now();
    for (const waiting of this.turns.leave(orderKey)) this.sendBack(waiting, now, WAITS_BEHIND);
  }

  /** The delivery of this key finished for good: the next one waiting behind it may run. */
  private nextTurn(orderKey: string | null): void {
    if (orderKey === null) return;
    const next = this.turns.next(orderKey);
    if (next !== undefined) this.enqueue(next);
  }

  /**
   * After completions reach the store. Ordered actions: a finished delivery that had a row may have been
   * the one a pending row of its key waited behind, so look again; held deliveries (no row) block none.
   */
  afterFlush(batch: readonly Completion[]): void {
    if (this.retrying.size > 0) {
      for (const c of batch) {
        if (c.action !== this.name || c.result !== "retry" || typeof c.orderKey !== "string") continue;
        const left = (this.retrying.get(c.orderKey) ?? 0) - 1;
        if (left > 0) this.retrying.set(c.orderKey, left);
        else {
          this.retrying.delete(c.orderKey);
          if (this.ingests.size > 0) this.reopened.set(c.orderKey, ++this.reopenings);
        }
      }
    }
    if (this.ordered && this.rowFinished) {
      this.rowFinished = false;
      this.notifyStoreWork();
    } else this.refill();
  }

  private scheduleWake(at: number): void {
    if (at >= this.wakeAt) return;
    this.wakeAt = at;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    // A little after the due time, so the retry's completion has certainly been flushed.
    this.wakeTimer = setTimeout(
      () => {
        this.wakeAt = Number.POSITIVE_INFINITY;
        this.notifyStoreWork();
      },
      Math.max(0, at - Date.now()) + 5,
    );
    this.wakeTimer.unref();
  }

  /** Attempts running now, and deliveries waiting in memory. */
  load(): { inflight: number; queued: number } {
    return { inflight: this.inflight, queued: this.queue.length };
  }

  /**
   * Stop taking work; let in-flight attempts finish within `graceMs`, then abort them. Queued and aborted
   * deliveries stay unfinished (in flight in the store, or held above the watermark) and run again at the
   * next start.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const recorded = this.pacing.close();
    clearInterval(this.pollTimer);
    clearTimeout(this.wakeTimer);
    if (this.inflight > 0) {
      const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([idle, grace]);
      clearTimeout(timer);
    }
    if (this.inflight > 0) {
      this.shuttingDown = true;
      for (const instance of [this.current, ...this.draining]) {
        instance.deadlines.abortAll(new Error("host shutting down"));
      }
      await new Promise<void>((resolve) => {
        if (this.inflight === 0) resolve();
        else this.idleWaiters.push(resolve);
      });
    }
    await recorded;
  }
}

/** The destination's HTTP status an action's error carries (core's delivery errors do), if any. */
function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null | undefined)?.status;
  return typeof status === "number" && Number.isInteger(status) ? status : undefined;
}

/**
 * Room for the attempts in flight, as many again waiting, and one more stream read: enough that the action
 * never waits for the stream, and no more, because an event held here is kept alive in memory (a slow
 * action's waiting events are what made the heap grow; the rest waits in the store). A rate-limited action
 * holds about two seconds of its limit (at least its burst): what it cannot send soon waits in the store,
 * where other replicas can take it too.
 */
function capacityOf(config: ActionConfig): number {
  const full = config.concurrency * 2 + READ_AHEAD;
  if (!config.rateLimit) return full;
  const { perSecond, burst } = rateLimitOf(config.rateLimit);
  return Math.min(full, Math.max(2, burst + Math.ceil(perSecond * 2)));
}

function newInstance(action: Action, config: ActionConfig, userCode: boolean): Instance {
  return {
    action,
    config,
    userCode,
    deadlines: new DeadlineWindows(config.timeoutMs),
    inflight: 0,
    drained: undefined,
  };
}
