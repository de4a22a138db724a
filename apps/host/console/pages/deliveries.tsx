import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { usePoll } from "../poll.ts";
import { eventHref } from "../router.ts";
import { ErrorLine, type FilterField, Filters, Outcome, Time } from "../ui.tsx";

const FIELDS: FilterField[] = ["eventId", "type", "action", "outcome", "since", "until"];

/** Every attempt, newest first, filtered; older pages by the server's cursor. */
export function DeliveriesPage({ params }: { params: URLSearchParams }) {
  return <DeliveriesList key={params.toString()} params={params} />;
}

function DeliveriesList({ params }: { params: URLSearchParams }) {
  // The cursors of the pages before this one: "Newer" goes back one, the first page is live.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const filters = Object.fromEntries(FIELDS.map((field) => [field, params.get(field) ?? undefined]));
  const { data, error } = usePoll(`${params}|${cursor ?? ""}`, (signal) =>
    api.deliveries({ ...filters, cursor }, signal),
  );
  return (
    <main>
      <h1>Deliveries</h1>
      <Filters page="deliveries" params={params} fields={FIELDS} label="Filter deliveries" />
      <ErrorLine error={error} />
      <nav class="paging" aria-label="Paging">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors([])}>
          Newest
        </button>
        <button
          type="button"
          disabled={cursors.length === 0}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          Newer
        </button>
        <button
          type="button"
          disabled={data?.next === undefined}
          onClick={() => data?.next !== undefined && setCursors([...cursors, data.next])}
        >
          Older
        </button>
        <span>{cursors.length === 0 ? "Newest first, live" : `Page ${cursors.length + 1}`}</span>
      </nav>
      {data && (
        <table aria-label="Deliveries">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Action</th>
              <th scope="col">Event type</th>
              <th scope="col">Event id</th>
              <th scope="col">Attempt</th>
              <th scope="col">Outcome</th>
              <th scope="col">Status</th>
              <th scope="col">Duration</th>
              <th scope="col">Error</th>
              <th scope="col">Replica</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((item) => (
              <tr key={item.id}>
                <td>
                  <Time iso={item.startedAt} />
                </td>
                <td>{item.action}</td>
                <td>{item.eventType}</td>
                <td>
                  <a href={eventHref(item.eventId)}>{item.eventId}</a>
                </td>
                <td class="num">{item.attempt}</td>
                <td>
                  <Outcome outcome={item.outcome} />
                </td>
                <td class="num">{item.status ?? ""}</td>
                <td class="num">{Math.round(item.durationMs)} ms</td>
                <td class="message">{item.error ?? ""}</td>
                <td>{item.replica}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && data.items.length === 0 && <p>No deliveries match.</p>}
    </main>
  );
}
