import { useState } from "preact/hooks";
import { api, tenantNames } from "../api.ts";
import { usePoll } from "../poll.ts";
import { AttemptsTable, ErrorLine, type FilterField, Filters, Paging, showsTenants } from "../ui.tsx";

const FIELDS: FilterField[] = ["eventId", "type", "action", "tenant", "outcome", "since", "until"];

/** Every attempt, newest first, filtered; older pages by the server's cursor. */
export function DeliveriesPage({ params }: { params: URLSearchParams }) {
  return <DeliveriesList key={params.toString()} params={params} />;
}

function DeliveriesList({ params }: { params: URLSearchParams }) {
  // The cursors of the pages before this one: "Newer" goes back one, the first page is live.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const filters = Object.fromEntries(FIELDS.map((field) => [field, params.get(field) ?? undefined]));
  // The tenants come with the page, so that its Tenant column and filter appear with the rows they describe.
  const { data, error } = usePoll(`${params}|${cursor ?? ""}`, async (signal) => {
    const [page, tenants] = await Promise.all([
      api.deliveries({ ...filters, cursor }, signal),
      tenantNames(),
    ]);
    return { ...page, tenants };
  });
  return (
    <main>
      <h1>Deliveries</h1>
      <Filters
        page="deliveries"
        params={params}
        fields={FIELDS}
        label="Filter deliveries"
        tenants={data?.tenants}
      />
      <ErrorLine error={error} />
      <Paging cursors={cursors} next={data?.next} onChange={setCursors} />
      {data && (
        <AttemptsTable
          label="Deliveries"
          attempts={data.items}
          withEvent
          tenants={showsTenants(data.tenants)}
        />
      )}
      {data && data.items.length === 0 && <p>No deliveries match.</p>}
    </main>
  );
}
