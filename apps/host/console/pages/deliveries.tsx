import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { usePoll } from "../poll.ts";
import { AttemptsTable, ErrorLine, type FilterField, Filters } from "../ui.tsx";

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
      {data && <AttemptsTable label="Deliveries" attempts={data.items} withEvent />}
      {data && data.items.length === 0 && <p>No deliveries match.</p>}
    </main>
  );
}
