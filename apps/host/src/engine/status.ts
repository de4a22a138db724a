/** What /readyz answers. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
  /** Actions the host could not start: it is degraded (still ready when `ready`), and says which. */
  failedActions?: string[];
}

/** What the host shows of itself on /readyz, kept up to date by the parts that know. */
export interface HostStatus {
  /** The stream is connected (reader). */
  connected: boolean;
  /** This host reads the stream now: always, alone on its state; the lease holder, when shared (leader). */
  leading: boolean;
  /** The store took the last write (maintenance's heartbeat; false until the store is open). */
  storeWritable: boolean;
  /** The actions this host could not start: it runs the others, degraded. */
  failedActions: string[];
  /** Shared state: this leader reads ahead into the store, because another replica is alive (leader). */
  readingAhead: boolean;
}

export function newStatus(): HostStatus {
  return { connected: false, leading: false, storeWritable: false, failedActions: [], readingAhead: false };
}

/** Ready when the store takes writes and, for the leader, the stream is connected: a standby only delivers. */
export function readiness(status: HostStatus): Readiness {
  const checks = {
    stream: status.connected || !status.leading,
    store: status.storeWritable,
    leader: status.leading,
  };
  const ready = checks.stream && checks.store;
  // Still ready (the other actions deliver), but said: an orchestrator's probe passes, a person sees why.
  if (status.failedActions.length > 0) return { ready, checks, failedActions: status.failedActions };
  return { ready, checks };
}
