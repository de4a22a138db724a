import { randomBytes } from "node:crypto";
import type { Auth0Event } from "@switchyard/core";
import type { HostLogger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { removedActions, SYSTEM_ACTOR } from "../operations.js";
import type { StateStore } from "../store/types.js";
import type { Backlog } from "./backlog.js";
import type { PacingView } from "./pacing.js";
import type { ActionRunner } from "./runner.js";

/** The type of the event an action's `alert` target is sent when the action pauses itself. */
export const PAUSED_EVENT_TYPE = "switchyard.action.paused";

export interface ControlDeps {
  store: StateStore;
  runners: readonly ActionRunner[];
  backlog: Backlog;
  metrics: Metrics;
  log: HostLogger;
  /** This host's replica id (its breakers' records name it). */
  replica: string;
  /** The configured actions (their `alert` settings), as of the last reload. */
  actions: () => ReadonlyArray<{ name: string; alert?: string | undefined }>;
}

/**
 * Pausing and resuming actions. The paused state lives in the store, so that `switchyard actions pause`,
 * the admin API and every replica agree: the host applies what the store says (`sync`, every second), and a
 * runner that pauses itself after too many consecutive failures is recorded there (`autoPaused`).
 */
export class ActionControl {
  constructor(private readonly deps: ControlDeps) {
    for (const runner of deps.runners) this.adopt(runner);
  }

  /** This host's view of an action's rate limit and circuit breaker (undefined: no such runner). */
  pacing(name: string): PacingView | undefined {
    return this.deps.runners.find((runner) => runner.name === name)?.pacingView();
  }

  /** Hear of `runner` pausing itself (a runner a reload added). */
  adopt(runner: ActionRunner): void {
    runner.onAutoPause = (reason) => void this.autoPaused(runner, reason);
  }

  /**
   * At start: forget this replica's earlier breakers; record in the store which actions this host could not
   * start (for `actions list`, the console and the other replicas), clear the failure of those it started,
   * and apply the stored paused states.
   */
  async start(now = Date.now()): Promise<void> {
    const { store, metrics, log } = this.deps;
    // Every breaker starts closed: what this replica recorded in an earlier life (and the dead's) is gone.
    await store.resetBreakers(this.deps.replica);
    const states = await store.actionStates();
    for (const runner of this.deps.runners) {
      const state = states[runner.name];
      if (runner.failure !== undefined) {
        log.error(
          { action: runner.name, reason: runner.failure },
          "action failed to start; the other actions run, and its events wait in the store until it is fixed and the host restarted",
        );
        metrics.setActionState(runner.name, "failed");
        if (state?.paused !== true)
          await store.setActionState(runner.name, { paused: false, failed: runner.failure, since: now });
      } else {
        metrics.setActionState(runner.name, "running");
        if (state?.failed !== undefined) await store.setActionState(runner.name, { paused: false });
      }
    }
    await this.sync();
    await this.warnRemoved();
  }

  /**
   * Say so when the store holds deliveries of actions the config does not have (removed, or renamed: the
   * deliveries stay under the old name), at start and after a reload: nothing runs them until an action of
   * that name is configured again.
   */
  async warnRemoved(): Promise<void> {
    const removed = removedActions(this.deps.actions(), await this.deps.store.stats());
    if (removed.length === 0) return;
    this.deps.log.warn(
      {
        actions: Object.fromEntries(removed.map((a) => [a.name, { pending: a.pending, dead: a.dead }])),
      },
      "the store holds deliveries of actions that are not in the config (removed or renamed): they wait until an action of that name is configured again (`switchyard actions forget NAME` drops them)",
    );
  }

  /** Apply the stored states to the runners. */
  async sync(): Promise<void> {
    const states = await this.deps.store.actionStates();
    for (const runner of this.deps.runners) {
      const state = states[runner.name];
      if (runner.failure !== undefined) {
        // An operator lifted a pause of a failed action: the failure is still the action's state.
        if (state?.paused !== true && state?.failed === undefined)
          await this.deps.store.setActionState(runner.name, {
            paused: false,
            failed: runner.failure,
            since: Date.now(),
          });
        continue;
      }
      const paused = state?.paused === true;
      if (paused === runner.isPaused) continue;
      if (paused) runner.pause();
      else runner.resume();
      this.deps.metrics.paused.labels(runner.name).set(paused ? 1 : 0);
      this.deps.metrics.setActionState(runner.name, paused ? "paused" : "running");
      this.deps.log.info(
        { action: runner.name, reason: states[runner.name]?.reason },
        paused ? "action paused" : "action resumed",
      );
    }
  }

  /** Deliveries were made due from outside (a replay): every runner looks in the store now. */
  wake(): void {
    for (const runner of this.deps.runners) runner.notifyStoreWork();
  }

  /** A runner paused itself: record it, say so loudly, and alert through the configured action. */
  async autoPaused(runner: ActionRunner, reason: string): Promise<void> {
    const { store, metrics, log } = this.deps;
    metrics.paused.labels(runner.name).set(1);
    metrics.setActionState(runner.name, "paused");
    log.error(
      { action: runner.name, reason },
      "action paused after too many consecutive failures; its deliveries wait in the store: resume it with `switchyard actions resume`",
    );
    try {
      const now = Date.now();
      await store.setActionState(runner.name, { paused: true, reason, since: now });
      // The audit log shows why the action stopped, beside the operators' pauses and resumes.
      await store.recordAudit({
        at: now,
        actor: SYSTEM_ACTOR,
        operation: "pause",
        selection: { action: runner.name },
        result: { wasPaused: false, reason },
      });
      const target = this.deps.actions().find((a) => a.name === runner.name)?.alert;
      if (target) await this.alert(target, runner.name, reason);
    } catch (error) {
      log.error({ action: runner.name, err: error }, "could not record the action's pause");
    }
  }

  /** Write a `switchyard.action.paused` event with one delivery, to the alert action only. */
  private async alert(target: string, action: string, reason: string): Promise<void> {
    const now = new Date();
    const event = {
      specversion: "1.0",
      type: PAUSED_EVENT_TYPE,
      source: "urn:switchyard:host",
      id: `evt_${randomBytes(16).toString("base64url").replace(/[-_]/g, "").slice(0, 22)}`,
      time: now.toISOString(),
      data: { object: { action, reason, paused_at: now.toISOString() } },
      a0tenant: "switchyard",
      a0stream: "switchyard",
    } as unknown as Auth0Event;
    await this.deps.store.ingest(
      [
        {
          event,
          payload: JSON.stringify(event),
          deliveries: [{ action: target, orderKey: null, held: false }],
        },
      ],
      undefined,
    );
    this.deps.backlog.added(1);
    this.deps.runners.find((runner) => runner.name === target)?.notifyStoreWork();
  }
}
