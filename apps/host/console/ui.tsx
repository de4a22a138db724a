import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { type Attempt, api } from "./api.ts";
import { eventHref, href } from "./router.ts";

/** The tenant of a config with one `source` (src/tenants.ts: the console bundles nothing of the server). */
export const DEFAULT_TENANT = "default";

const pad = (n: number) => String(n).padStart(2, "0");

/** Local time, to the second: `2026-12-02 07:10:07`. */
export function formatTime(iso: string | undefined): string {
  if (iso === undefined) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export const Time = ({ iso }: { iso: string | undefined }) =>
  iso === undefined ? null : <time dateTime={iso}>{formatTime(iso)}</time>;

/** An error from the API, said plainly where the data would be. */
export const ErrorLine = ({ error }: { error: string | undefined }) =>
  error === undefined ? null : (
    <p class="error" role="alert">
      {error}
    </p>
  );

export const Outcome = ({ outcome }: { outcome: string }) => (
  <span class={`badge ${outcome.replace(" ", "-")}`}>{outcome}</span>
);

/** Attempts, one row each; `withEvent` adds the event's type and id (a link to its page). */
/** Attempts in a table; `tenants`: a Tenant column, and event links that name the tenant (see showsTenants). */
export function AttemptsTable(props: {
  label: string;
  attempts: readonly Attempt[];
  withEvent: boolean;
  tenants?: boolean | undefined;
}) {
  return (
    <table aria-label={props.label}>
      <thead>
        <tr>
          <th scope="col">Started</th>
          <th scope="col">Action</th>
          {props.tenants && <th scope="col">Tenant</th>}
          {props.withEvent && <th scope="col">Event type</th>}
          {props.withEvent && <th scope="col">Event id</th>}
          <th scope="col">Attempt</th>
          <th scope="col">Outcome</th>
          <th scope="col">Status</th>
          <th scope="col">Duration</th>
          <th scope="col">Error</th>
          <th scope="col">Replica</th>
        </tr>
      </thead>
      <tbody>
        {props.attempts.map((a) => (
          <tr key={a.id}>
            <td>
              <Time iso={a.startedAt} />
            </td>
            <td>{a.action}</td>
            {props.tenants && <td>{a.tenant}</td>}
            {props.withEvent && <td>{a.eventType}</td>}
            {props.withEvent && (
              <td>
                <a href={eventHref(a.eventId, props.tenants ? a.tenant : undefined)}>{a.eventId}</a>
              </td>
            )}
            <td class="num">{a.attempt}</td>
            <td>
              <Outcome outcome={a.outcome} />
            </td>
            <td class="num">{a.status ?? ""}</td>
            <td class="num">{Math.round(a.durationMs)} ms</td>
            <td class="message">{a.error ?? ""}</td>
            <td>{a.replica}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The configured action names (for the filters' select), loaded once. */
export function useActionNames(): string[] {
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    api.actions().then(
      (answer) => setNames(answer.actions.map((a) => a.name)),
      () => {},
    );
  }, []);
  return names;
}

/** `2026-12-02T07:10` (a datetime-local input's value) from an ISO time, in local time. */
function localInput(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export type FilterField = "eventId" | "type" | "action" | "tenant" | "outcome" | "since" | "until";

/**
 * Whether the host has tenants worth naming: a config with `sources`. A single `source` is the one tenant
 * `default`, which the pages leave out (every event, action and dead letter is its).
 */
export const showsTenants = (tenants: readonly string[] | undefined): tenants is readonly string[] =>
  tenants !== undefined && tenants.length > 0 && !(tenants.length === 1 && tenants[0] === DEFAULT_TENANT);

interface FilterProps {
  page: string;
  params: URLSearchParams;
  fields: FilterField[];
  label: string;
  /** The configured tenants, for the `tenant` field (shown only with several: see showsTenants). */
  tenants?: readonly string[] | undefined;
}

/**
 * The filters of a list page, kept in the URL's hash: applying them navigates, so a filtered list can be
 * reloaded, linked to, and gone back from.
 */
export function Filters(props: FilterProps) {
  // A new URL starts the form over from it.
  return <FilterForm key={props.params.toString()} {...props} />;
}

function FilterForm(props: FilterProps) {
  const actions = useActionNames();
  const [values, setValues] = useState(() =>
    Object.fromEntries(
      props.fields.map((field) => {
        const value = props.params.get(field);
        return [field, field === "since" || field === "until" ? localInput(value) : (value ?? "")];
      }),
    ),
  );
  const has = (field: FilterField) => props.fields.includes(field);
  const bind = (field: FilterField) => ({
    name: field,
    value: values[field] ?? "",
    onInput: (e: Event) => setValues({ ...values, [field]: (e.currentTarget as HTMLInputElement).value }),
  });
  const onSubmit = (e: Event) => {
    e.preventDefault();
    const query: Record<string, string> = {};
    for (const field of props.fields) {
      const raw = (values[field] ?? "").trim();
      query[field] = (field === "since" || field === "until") && raw ? new Date(raw).toISOString() : raw;
    }
    location.hash = href(props.page, query);
  };
  const selected = values.action ?? "";
  const actionNames = selected && !actions.includes(selected) ? [...actions, selected] : actions;
  const tenant = values.tenant ?? "";
  const tenants = props.tenants ?? [];
  const tenantNames = tenant && !tenants.includes(tenant) ? [...tenants, tenant] : tenants;
  return (
    <form class="filters" aria-label={props.label} onSubmit={onSubmit}>
      {has("eventId") && (
        <label>
          Event id <input {...bind("eventId")} size={28} />
        </label>
      )}
      {has("type") && (
        <label>
          Event type <input {...bind("type")} placeholder="user.*" size={16} />
        </label>
      )}
      {has("action") && (
        <label>
          Action
          <select {...bind("action")} onChange={bind("action").onInput}>
            <option value="">any</option>
            {actionNames.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      )}
      {has("tenant") && (showsTenants(props.tenants) || tenant !== "") && (
        <label>
          Tenant
          <select {...bind("tenant")} onChange={bind("tenant").onInput}>
            <option value="">any</option>
            {tenantNames.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      )}
      {has("outcome") && (
        <label>
          Outcome
          <select {...bind("outcome")} onChange={bind("outcome").onInput}>
            <option value="">any</option>
            <option value="delivered">delivered</option>
            <option value="failed">failed (retrying or dead)</option>
            <option value="retrying">retrying</option>
            <option value="dead">dead</option>
            <option value="stale">stale (skipped: latest wins)</option>
            <option value="filtered">filtered (skipped by its transform)</option>
          </select>
        </label>
      )}
      {has("since") && (
        <label>
          Since <input type="datetime-local" {...bind("since")} />
        </label>
      )}
      {has("until") && (
        <label>
          Until <input type="datetime-local" {...bind("until")} />
        </label>
      )}
      <button type="submit">Apply</button>
      <a href={href(props.page)}>Clear</a>
    </form>
  );
}

/** A labelled value in a `<dl>`. */
export const Field = ({
  name,
  wide,
  children,
}: {
  name: string;
  wide?: boolean;
  children: ComponentChildren;
}) => (
  <div class={wide ? "wide" : undefined}>
    <dt>{name}</dt>
    <dd>{children}</dd>
  </div>
);

/**
 * Newest / Newer / Older over a cursor-paged list. `cursors` are the cursors of the pages before this one
 * ("Newer" goes back one; the first page is live); `next` is the answer's cursor of the next older page.
 */
export function Paging(props: {
  cursors: readonly string[];
  next: string | undefined;
  onChange: (cursors: string[]) => void;
}) {
  const { cursors, next, onChange } = props;
  return (
    <nav class="paging" aria-label="Paging">
      <button type="button" disabled={cursors.length === 0} onClick={() => onChange([])}>
        Newest
      </button>
      <button type="button" disabled={cursors.length === 0} onClick={() => onChange(cursors.slice(0, -1))}>
        Newer
      </button>
      <button
        type="button"
        disabled={next === undefined}
        onClick={() => next !== undefined && onChange([...cursors, next])}
      >
        Older
      </button>
      <span>{cursors.length === 0 ? "Newest first, live" : `Page ${cursors.length + 1}`}</span>
    </nav>
  );
}
