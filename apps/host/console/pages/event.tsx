import { type Attempt, api } from "../api.ts";
import { usePoll } from "../poll.ts";
import { AttemptsTable, DEFAULT_TENANT, ErrorLine, Field, Outcome, Time } from "../ui.tsx";

/**
 * One event: the CloudEvent while kept, its unfinished deliveries and dead letters, every attempt. `tenant`
 * (the link's `?tenant=`) says whose event, as ids are unique per tenant only; without it, the server finds
 * the id's only tenant, or says which tenants have it.
 */
export function EventPage({ id, tenant }: { id: string; tenant?: string | undefined }) {
  const { data, error } = usePoll(`event|${id}|${tenant ?? ""}`, (signal) => api.event(id, tenant, signal));
  return (
    <main>
      <h1>
        Event <code>{id}</code>
      </h1>
      <ErrorLine error={error} />
      {data && (
        <>
          <dl class="facts">
            {(tenant !== undefined || data.tenant !== DEFAULT_TENANT) && (
              <Field name="Tenant">{data.tenant}</Field>
            )}
            <Field name="Type">{data.type}</Field>
            <Field name="Time">
              <Time iso={data.time} />
            </Field>
            <Field name="Received">
              <Time iso={data.receivedAt} />
            </Field>
          </dl>
          <section aria-label="Delivery states">
            <h2>Delivery states</h2>
            {data.deliveries.length === 0 ? (
              <p>Nothing pending: every delivery finished (see the attempts).</p>
            ) : (
              <table aria-label="Delivery states">
                <thead>
                  <tr>
                    <th scope="col">Action</th>
                    <th scope="col">State</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Due</th>
                    <th scope="col">Last error</th>
                  </tr>
                </thead>
                <tbody>
                  {data.deliveries.map((d) => (
                    <tr key={d.action}>
                      <td>{d.action}</td>
                      <td>
                        <Outcome outcome={d.state} />
                      </td>
                      <td class="num">{d.attempts}</td>
                      <td>
                        <Time iso={d.dueAt} />
                      </td>
                      <td class="message">{d.lastError ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section aria-label="Attempts">
            <h2>Attempts</h2>
            <AttemptsTable label="Attempts" attempts={data.attempts} withEvent={false} />
            {data.attempts.map((a) => (a.logs?.length ? <AttemptLogs key={a.id} attempt={a} /> : null))}
          </section>
          <section aria-label="CloudEvent">
            <h2>CloudEvent</h2>
            {data.event === undefined ? (
              <p>Payload no longer kept (it is kept as long as the delivery history).</p>
            ) : (
              <pre class="json">{JSON.stringify(data.event, null, 2)}</pre>
            )}
          </section>
        </>
      )}
    </main>
  );
}

/** What a file action printed during one attempt (console.log and the like), as the host's log has it. */
function AttemptLogs({ attempt }: { attempt: Attempt }) {
  const label = `Console of ${attempt.action}, attempt ${attempt.attempt}`;
  return (
    <section class="attempt-logs" aria-label={label}>
      <h3>
        {label} (<Time iso={attempt.startedAt} />)
      </h3>
      <ol>
        {(attempt.logs ?? []).map((line, i) => (
          <li key={i} class={`log ${line.level}`}>
            <Time iso={line.at} /> <span class="level">{line.level}</span>{" "}
            <span class="text">{line.message}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
