/** What /readyz answers. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
  /** Actions the host could not start: it is degraded (still ready when `ready`), and says which. */
  failedActions?: string[];
}

/** One tenant's stream on this host, kept up to date by its reader and leader. */
export interface StreamStatus {
  /** The stream is connected (reader). */
  connected: boolean;
  /** This host reads the stream now: always, alone on its state; the lease holder, when shared (leader). */
  leading: boolean;
  /** Shared state: this leader reads ahead into the store, because another replica is alive (leader). */
  readingAhead: boolean;
}

/** What the host shows of itself on /readyz, kept up to date by the parts that know. */
export interface HostStatus {
  /** Each tenant's stream, by tenant (none when the host only listens to webhooks). */
  readonly streams: Map<string, StreamStatus>;
  /** Every stream this host leads is connected (true when it leads none). */
  readonly connected: boolean;
  /** This host leads at least one stream. */
  readonly leading: boolean;
  /** It reads ahead into the store on at least one stream it leads. */
  readonly readingAhead: boolean;
  /** The store took the last write (maintenance's heartbeat; false until the store is open). */
  storeWritable: boolean;
  /** The actions this host could not start: it runs the others, degraded. */
  failedActions: string[];
}

export function newStreamStatus(): StreamStatus {
  return { connected: false, leading: false, readingAhead: false };
}

export function newStatus(): HostStatus {
  const streams = new Map<string, StreamStatus>();
  const all = () => [...streams.values()];
  return {
    streams,
    get connected() {
      return all().every((s) => s.connected || !s.leading);
    },
    get leading() {
      return all().some((s) => s.leading);
    },
    get readingAhead() {
      return all().some((s) => s.readingAhead);
    },
    storeWritable: false,
    failedActions: [],
  };
}

/** Ready when the store takes writes and, for the leader, the stream is connected: a standby only delivers. */
export function readiness(status: HostStatus): Readiness {
  const checks = {
    stream: status.connected,
    store: status.storeWritable,
    leader: status.leading,
  };
  const ready = checks.stream && checks.store;
  // Still ready (the other actions deliver), but said: an orchestrator's probe passes, a person sees why.
  if (status.failedActions.length > 0) return { ready, checks, failedActions: status.failedActions };
  return { ready, checks };
}
