import { useState } from "preact/hooks";
import { type Action, type Activity, api, describe, type Status, type TenantStatus } from "../api.ts";
import { usePoll } from "../poll.ts";
import { useCanChange } from "../role.ts";
import { href } from "../router.ts";
import { Sparkline } from "../sparkline.tsx";
import { ErrorLine, Field, Filters, showsTenants, Time } from "../ui.tsx";

const MINUTES = 60;

interface Overview {
  status: Status;
  actions: Action[];
  activity: Activity;
}

const load = async (signal: AbortSignal, tenant: string | undefined): Promise<Overview> => {
  const [status, actions, activity] = await Promise.all([
    api.status(signal),
    api.actions(signal, tenant),
    api.activity(MINUTES, signal, tenant),
  ]);
  return { status, actions: actions.actions, activity };
};

/**
 * The stream (each tenant's, with `sources`) and one tile per action, with their last hour minute by minute;
 * `?tenant=` shows only the actions that take that tenant's events, and counts only its attempts, pending
 * deliveries and dead letters.
 */
export function OverviewPage({ params }: { params: URLSearchParams }) {
  const tenant = params.get("tenant") || undefined;
  const { data, error, refresh } = usePoll(`overview|${tenant ?? ""}`, (signal) => load(signal, tenant));
  const tenants = data?.status.tenants.map((t) => t.tenant);
  return (
    <main>
      <h1>Overview</h1>
      <ErrorLine error={error} />
      {data && <StreamPanel status={data.status} />}
      {(showsTenants(tenants) || tenant !== undefined) && (
        <Filters page="" params={params} fields={["tenant"]} label="Filter actions" tenants={tenants} />
      )}
      {data && (
        <div class="tiles">
          {data.actions.map((action) => (
            <ActionTile
              key={action.name}
              action={action}
              series={series(data.activity, action.name)}
              tenanted={showsTenants(tenants)}
              tenant={tenant}
              onChange={refresh}
            />
          ))}
        </div>
      )}
    </main>
  );
}

function StreamPanel({ status }: { status: Status }) {
  const { stream } = status;
  // With `sources`, the tenants' table shows each stream's cursor and webhook; the host's own fields keep
  // what is true of all of them (connected, leading, lag, reconnects).
  const tenanted = showsTenants(status.tenants.map((t) => t.tenant));
  return (
    <section class="panel" aria-label="Stream">
      <h2>Stream</h2>
      <dl class="facts">
        {stream.configured ? (
          <>
            {/* A standby is healthy with no stream of its own: neutral, not a red "no". */}
            <Field name="Connected">
              {stream.leading ? (
                <span class={stream.connected ? "ok" : "bad"}>{stream.connected ? "yes" : "no"}</span>
              ) : (
                <span class="standby">standby</span>
              )}
            </Field>
            <Field name="Role">
              {stream.leading
                ? status.engine === "postgres"
                  ? "leader (this replica reads the stream)"
                  : "reads the stream"
                : "standby (delivers; takes over the stream if the leader stops)"}
            </Field>
            {stream.leader !== undefined && <Field name="Leader">{stream.leader}</Field>}
            <Field name="Lag">
              {stream.lagSeconds === undefined ? "–" : `${stream.lagSeconds.toFixed(1)} s`}
            </Field>
            <Field name="Reconnects">{stream.reconnects}</Field>
            {!tenanted && (
              <Field name="Cursor">
                <code class="cursor">{stream.cursor ?? "none yet"}</code>
              </Field>
            )}
          </>
        ) : (
          <Field name="Stream">not configured</Field>
        )}
        {status.webhook && !tenanted && <Field name="Webhook">{status.webhook.url}</Field>}
        <Field name="Ready">
          <span class={status.ready ? "ok" : "bad"}>{status.ready ? "yes" : "no"}</span>
        </Field>
        <Field name="Replica">{status.replica}</Field>
        <Field name="State">{status.engine}</Field>
        <Field name="Version">{status.version}</Field>
      </dl>
      {tenanted && <TenantsTable tenants={status.tenants} />}
    </section>
  );
}

/** Each tenant's stream on this host (connected, or standby while another replica leads it) and webhook. */
function TenantsTable({ tenants }: { tenants: readonly TenantStatus[] }) {
  return (
    <table aria-label="Tenants" class="tenants">
      <thead>
        <tr>
          <th scope="col">Tenant</th>
          <th scope="col">Stream</th>
          <th scope="col">Leader</th>
          <th scope="col">Cursor</th>
          <th scope="col">Webhook</th>
        </tr>
      </thead>
      <tbody>
        {tenants.map(({ tenant, stream, webhook }) => (
          <tr key={tenant}>
            <td>{tenant}</td>
            <td>
              {stream === undefined ? (
                "–"
              ) : !stream.leading ? (
                <span class="standby">standby</span>
              ) : (
                <span class={stream.connected ? "ok" : "bad"}>
                  {stream.connected ? "connected" : "not connected"}
                </span>
              )}
            </td>
            <td>{stream?.leader ?? "–"}</td>
            <td>{stream ? <code class="cursor">{stream.cursor ?? "none yet"}</code> : "–"}</td>
            <td>{webhook?.url ?? "–"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Delivered and failed attempts per minute for the last hour, oldest first, minutes with none as 0. */
function series(activity: Activity, action: string): { delivered: number[]; failed: number[] } {
  const now = Math.floor(Date.now() / 60_000);
  const delivered = new Array<number>(MINUTES).fill(0);
  const failed = new Array<number>(MINUTES).fill(0);
  for (const minute of activity.minutes) {
    if (minute.action !== action) continue;
    const index = MINUTES - 1 - (now - Math.floor(Date.parse(minute.minute) / 60_000));
    if (index < 0 || index >= MINUTES) continue;
    delivered[index] = minute.delivered;
    failed[index] = minute.retrying + minute.dead;
  }
  return { delivered, failed };
}

/** A duration for people: ms below a second, else seconds. */
const ms = (value: number) => (value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`);

const percent = (failed: number, delivered: number) =>
  failed + delivered === 0 ? "–" : `${((100 * failed) / (failed + delivered)).toFixed(1)}%`;

function ActionTile(props: {
  action: Action;
  /** The config has `sources`: the tile names the tenants whose events the action takes. */
  tenanted: boolean;
  /** The overview's tenant filter: the tile counts that tenant's dead letters, and its link lists them. */
  tenant: string | undefined;
  series: { delivered: number[]; failed: number[] };
  onChange(): void;
}) {
  const { action, series } = props;
  const canChange = useCanChange();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const toggle = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await (action.state === "paused" ? api.resume(action.name) : api.pause(action.name));
      props.onChange();
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };
  const attempts = series.delivered.map((d, i) => d + (series.failed[i] ?? 0));
  const rates = series.delivered.map((d, i) => {
    const f = series.failed[i] ?? 0;
    return d + f === 0 ? 0 : (100 * f) / (d + f);
  });
  const hour = action.lastHour;
  const circuit = circuitOf(action);
  return (
    <section class={`tile ${action.state}`} aria-label={`Action ${action.name}`}>
      <header>
        <h2>{action.name}</h2>
        <span class={`state ${action.state}`}>{action.state}</span>
        {action.rateLimit && (
          <span
            class={`badge rate-limited${action.rateLimit.waiting ? " waiting" : ""}`}
            title={action.rateLimit.waiting ? "Deliveries are waiting for the rate limit" : "Rate limit"}
          >
            rate-limited {action.rateLimit.limit}
          </span>
        )}
        {circuit !== "closed" && (
          <span class={`badge breaker ${circuit}`} role="status">
            circuit {circuit}
          </span>
        )}
        {canChange && (action.state === "running" || action.state === "paused") && (
          <button
            type="button"
            onClick={toggle}
            disabled={busy}
            aria-label={`${action.state === "paused" ? "Resume" : "Pause"} ${action.name}`}
          >
            {action.state === "paused" ? "Resume" : "Pause"}
          </button>
        )}
      </header>
      {action.state !== "removed" && (
        <p class="meta">
          {action.plugin} · {action.events.join(", ")}
        </p>
      )}
      {props.tenanted && (
        <ul class="tenants" aria-label={`Tenants of ${action.name}`}>
          {action.tenants.map((tenant) => (
            <li key={tenant} class="badge tenant">
              {tenant}
            </li>
          ))}
        </ul>
      )}
      {action.state === "paused" && (
        <p class="reason">
          Paused
          {action.pausedSince && (
            <>
              {" "}
              since <Time iso={action.pausedSince} />
            </>
          )}
          {action.pausedReason && `: ${action.pausedReason}`}
        </p>
      )}
      {action.circuitBreaker && circuit !== "closed" && (
        <div class="reason">
          <p>
            Circuit breaker {circuit}: after {action.circuitBreaker.failures} consecutive failures nothing is
            attempted for {action.circuitBreaker.coolDownMs} ms, then one delivery probes. Its deliveries
            wait, their attempts untouched.
          </p>
          <ul aria-label={`Circuit breakers of ${action.name}`}>
            {action.circuitBreaker.replicas.map((r) => (
              <li key={r.replica}>
                {r.state}
                {r.until !== undefined && (
                  <>
                    {" until "}
                    <Time iso={r.until} />
                  </>
                )}{" "}
                on replica {r.replica}
              </li>
            ))}
          </ul>
        </div>
      )}
      {action.state === "disabled" && <p class="reason">Disabled in the config.</p>}
      {action.state === "removed" && (
        <p class="reason" role="alert">
          Not in the config (removed or renamed): {count(action.queueDepth, "delivery", "deliveries")} and{" "}
          {count(action.deadLetters, "dead letter", "dead letters")} of it wait in the store. Configure an
          action named {action.name} again to deliver them, or drop them with{" "}
          <code>switchyard actions forget {action.name}</code>.
        </p>
      )}
      {action.state === "failed" && (
        <p class="reason" role="alert">
          Failed to start: {action.failedReason}. Its events wait in the store; fix it and restart the host.
        </p>
      )}
      <div class="charts">
        <figure>
          <Sparkline
            kind="throughput"
            values={attempts}
            label={`${action.name}: attempts per minute, last hour`}
          />
          <figcaption>attempts/min (max {Math.max(...attempts)})</figcaption>
        </figure>
        <figure>
          <Sparkline
            kind="failures"
            values={rates}
            max={100}
            label={`${action.name}: failure rate per minute, last hour`}
          />
          <figcaption>failure rate (0–100%)</figcaption>
        </figure>
      </div>
      <dl class="facts">
        <Field name="Last minute">
          {action.lastMinute.delivered} delivered, {action.lastMinute.failed} failed
        </Field>
        <Field name="Last hour">
          {hour.delivered} delivered, {hour.failed} failed ({percent(hour.failed, hour.delivered)})
        </Field>
        <Field name="Latency (1 h)">
          {action.latency.p50Ms === undefined
            ? "–"
            : `p50 ${ms(action.latency.p50Ms)} · p99 ${ms(action.latency.p99Ms ?? action.latency.p50Ms)}`}
        </Field>
        <Field name="Queue depth">{action.queueDepth}</Field>
        <Field name="Dead letters">
          <a href={href("dead-letters", { action: action.name, tenant: props.tenant })}>
            {action.deadLetters}
          </a>
        </Field>
        {action.lastError && (
          <Field name="Last error" wide>
            <Time iso={action.lastError.at} /> <span class="message">{action.lastError.message}</span>
          </Field>
        )}
      </dl>
      <ErrorLine error={error} />
    </section>
  );
}

/** An action's breaker at its worst: this host's state, or any replica's recorded one (open, then half-open). */
function circuitOf(action: Action): "closed" | "open" | "half-open" {
  const breaker = action.circuitBreaker;
  if (!breaker) return "closed";
  const states = [breaker.state, ...breaker.replicas.map((r) => r.state)];
  if (states.includes("open")) return "open";
  return states.includes("half-open") ? "half-open" : "closed";
}

/** `1 dead letter`, `3 dead letters`. */
function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
