import { useState } from "preact/hooks";
import { api, type Bulk as BulkResult, describe, type Selection, tenantNames } from "../api.ts";
import { usePoll } from "../poll.ts";
import { useCanChange } from "../role.ts";
import { eventHref } from "../router.ts";
import { ErrorLine, type FilterField, Filters, showsTenants, Time } from "../ui.tsx";

const FIELDS: FilterField[] = ["eventId", "type", "action", "tenant", "since", "until"];

type Bulk = "replay" | "purge";

/** Dead letters, filtered, oldest first; replay one, or replay or purge every one that matches. */
export function DeadLettersPage({ params }: { params: URLSearchParams }) {
  return <DeadLetterList key={params.toString()} params={params} />;
}

const plural = (count: number) => `${count} dead letter${count === 1 ? "" : "s"}`;

function DeadLetterList({ params }: { params: URLSearchParams }) {
  const filters = Object.fromEntries(FIELDS.map((field) => [field, params.get(field) ?? undefined]));
  const selection: Selection = Object.fromEntries(Object.entries(filters).filter(([, value]) => value));
  // The server refuses an empty selection unless it says `all`: no filter means every dead letter.
  if (Object.keys(selection).length === 0) selection.all = true;
  // The cursors of the pages before this one (oldest first): "Older" goes back one, the first page is live.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  // The tenants come with the page, so that its Tenant column and filter appear with the rows they describe.
  const { data, error, refresh } = usePoll(`dead|${params}|${cursor ?? ""}`, async (signal) => {
    const [page, tenants] = await Promise.all([
      api.deadLetters({ ...filters, cursor }, signal),
      tenantNames(),
    ]);
    return { ...page, tenants };
  });
  const tenanted = showsTenants(data?.tenants);
  const [confirming, setConfirming] = useState<{ kind: Bulk; count: number }>();
  // Dead letters a replay left dead (latest wins: a newer event of their subject was delivered since).
  const [refused, setRefused] = useState<{ selection: Selection; reasons: string[] }>();
  const [result, setResult] = useState<string>();
  const [failure, setFailure] = useState<string>();
  const [busy, setBusy] = useState(false);
  const canChange = useCanChange();

  const run = async (work: () => Promise<string>) => {
    setBusy(true);
    setFailure(undefined);
    setResult(undefined);
    setRefused(undefined);
    try {
      setResult(await work());
      refresh();
    } catch (e) {
      setFailure(describe(e));
    } finally {
      setBusy(false);
    }
  };
  // Ask the server how many a bulk change would touch (a dry run), then ask the person.
  const ask = (kind: Bulk) =>
    run(async () => {
      const { count } = await api[kind]({ ...selection, dryRun: true });
      setConfirming({ kind, count });
      return "";
    });
  /** A replay's answer for people; the refused ones are offered again, forced, after a confirmation. */
  const replayed = (answer: BulkResult, asked: Selection, what = "") => {
    const reasons = answer.refused?.map((r) => r.reason) ?? [];
    if (reasons.length > 0) setRefused({ selection: asked, reasons });
    const left = reasons.length > 0 ? ` ${plural(reasons.length)} refused: see below.` : "";
    return `Replayed ${plural(answer.count)}${what}.${left}`;
  };
  const confirm = (kind: Bulk) =>
    run(async () => {
      setConfirming(undefined);
      const answer = await api[kind](selection);
      return kind === "replay" ? replayed(answer, selection) : `Purged ${plural(answer.count)}.`;
    });
  // With several tenants an event's id is unique within its tenant only: the tenant names the one dead letter.
  const replayOne = (action: string, eventId: string, tenant: string) =>
    run(async () => {
      const one = { action, eventId, ...(tenanted ? { tenant } : {}) };
      return replayed(await api.replay(one), one, `: ${action}, event ${eventId}`);
    });
  const replayAnyway = (asked: Selection) =>
    run(async () => {
      const { count } = await api.replay({ ...asked, force: true });
      return `Replayed ${plural(count)} anyway.`;
    });

  return (
    <main>
      <h1>Dead letters</h1>
      <Filters
        page="dead-letters"
        params={params}
        fields={FIELDS}
        label="Filter dead letters"
        tenants={data?.tenants}
      />
      <ErrorLine error={error} />
      <div class="bulk">
        <span>
          {data === undefined
            ? ""
            : data.total > data.items.length
              ? `${data.total} match; ${data.items.length} are shown, oldest first.`
              : `${plural(data.total)} match.`}
        </span>
        {canChange && (
          <>
            <button type="button" disabled={busy || data?.total === 0} onClick={() => ask("replay")}>
              Replay all matching
            </button>
            <button
              type="button"
              class="danger"
              disabled={busy || data?.total === 0}
              onClick={() => ask("purge")}
            >
              Purge all matching
            </button>
          </>
        )}
      </div>
      {confirming && (
        <div class="confirm" role="alertdialog" aria-label={`Confirm ${confirming.kind}`}>
          <p>
            {confirming.kind === "replay" ? "Replay" : "Purge (delete for good)"} {plural(confirming.count)}{" "}
            matching these filters?
          </p>
          <button
            type="button"
            class={confirming.kind === "purge" ? "danger" : ""}
            onClick={() => confirm(confirming.kind)}
          >
            {confirming.kind === "replay" ? "Replay" : "Purge"} {confirming.count}
          </button>
          <button type="button" onClick={() => setConfirming(undefined)}>
            Cancel
          </button>
        </div>
      )}
      {result && (
        <p class="result" role="status">
          {result}
        </p>
      )}
      {refused && (
        <div class="confirm" role="alertdialog" aria-label="Replay anyway">
          <p>Not replayed: their subject had a newer event delivered since, which replaying would undo.</p>
          <ul>
            {refused.reasons.map((reason) => (
              <li key={reason}>{reason}</li>
            ))}
          </ul>
          <button type="button" class="danger" onClick={() => replayAnyway(refused.selection)}>
            Replay anyway
          </button>
          <button type="button" onClick={() => setRefused(undefined)}>
            Cancel
          </button>
        </div>
      )}
      <ErrorLine error={failure} />
      {(cursors.length > 0 || data?.next !== undefined) && (
        <nav class="paging" aria-label="Paging">
          <button type="button" disabled={cursors.length === 0} onClick={() => setCursors([])}>
            Oldest
          </button>
          <button
            type="button"
            disabled={cursors.length === 0}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            Older
          </button>
          <button
            type="button"
            disabled={data?.next === undefined}
            onClick={() => data?.next !== undefined && setCursors([...cursors, data.next])}
          >
            Newer
          </button>
          <span>{`Page ${cursors.length + 1}`}</span>
        </nav>
      )}
      {data && data.items.length > 0 && (
        <table aria-label="Dead letters">
          <thead>
            <tr>
              <th scope="col">Failed at</th>
              <th scope="col">Action</th>
              {tenanted && <th scope="col">Tenant</th>}
              <th scope="col">Event type</th>
              <th scope="col">Event id</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last error</th>
              {canChange && (
                <th scope="col">
                  <span class="visually-hidden">Replay</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {data.items.map((item) => (
              <tr key={`${item.tenant}|${item.action}|${item.eventId}`}>
                <td>
                  <Time iso={item.failedAt} />
                </td>
                <td>{item.action}</td>
                {tenanted && <td>{item.tenant}</td>}
                <td>{item.eventType}</td>
                <td>
                  <a href={eventHref(item.eventId, tenanted ? item.tenant : undefined)}>{item.eventId}</a>
                </td>
                <td class="num">{item.attempts}</td>
                <td class="message">{item.lastError}</td>
                {canChange && (
                  <td>
                    <button
                      type="button"
                      disabled={busy}
                      onClick={() => replayOne(item.action, item.eventId, item.tenant)}
                      aria-label={`Replay ${item.action} ${tenanted ? `${item.tenant} ` : ""}${item.eventId}`}
                    >
                      Replay
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && data.items.length === 0 && <p>No dead letters match.</p>}
    </main>
  );
}
