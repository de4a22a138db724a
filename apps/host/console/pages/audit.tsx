import { useState } from "preact/hooks";
import { type AuditEntry, api } from "../api.ts";
import { usePoll } from "../poll.ts";
import { ErrorLine, Paging, Time } from "../ui.tsx";

/** An entry's fields as `key=value` pairs (values that are not text as JSON). */
const pairs = (fields: Record<string, unknown>) =>
  Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");

/** The audit log: every operator operation, newest first; older pages by the server's cursor. */
export function AuditPage() {
  // The cursors of the pages before this one: "Newer" goes back one, the first page is live.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const { data, error } = usePoll(`audit|${cursor ?? ""}`, (signal) => api.audit({ cursor }, signal));
  return (
    <main>
      <h1>Audit log</h1>
      <p class="meta">
        Who paused, resumed, replayed or purged what: from the console, the API (by the admin token's name) or
        the CLI (<code>cli:user@host</code>).
      </p>
      <ErrorLine error={error} />
      <Paging cursors={cursors} next={data?.next} onChange={setCursors} />
      {data && data.items.length > 0 && (
        <table aria-label="Audit log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Operation</th>
              <th scope="col">Selection</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((entry: AuditEntry) => (
              <tr key={entry.id}>
                <td>
                  <Time iso={entry.at} />
                </td>
                <td>{entry.actor}</td>
                <td>{entry.operation}</td>
                <td>{pairs(entry.selection)}</td>
                <td>{pairs(entry.result)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && data.items.length === 0 && <p>No operator operation recorded yet.</p>}
    </main>
  );
}
