// Preact (4 KB gzipped) rather than plain DOM code: the pages re-render every 2 s from polled data, and its
// diffing keeps focus, typed filters and scroll in place where rebuilding the DOM by hand would not.
import "./style.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, describe, hasToken, onTokenNeeded, setToken, type Whoami } from "./api.ts";
import { AuditPage } from "./pages/audit.tsx";
import { DeadLettersPage } from "./pages/dead-letters.tsx";
import { DeliveriesPage } from "./pages/deliveries.tsx";
import { EventPage } from "./pages/event.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { CanChange } from "./role.ts";
import { useRoute } from "./router.ts";
import { ErrorLine } from "./ui.tsx";

const PAGES = [
  { page: "", title: "Overview" },
  { page: "deliveries", title: "Deliveries" },
  { page: "dead-letters", title: "Dead letters" },
  { page: "audit", title: "Audit log" },
];

function App() {
  const route = useRoute();
  // Who the tab is, asked first (whoami is never refused): the page knows whether it needs a token before
  // any call is refused, and whether its caller may change things.
  const [who, setWho] = useState<Whoami>();
  const [whoError, setWhoError] = useState<string>();
  const [asked, setAsked] = useState(0);
  const [signedIn, setSignedIn] = useState(hasToken());
  useEffect(
    () =>
      onTokenNeeded(() => {
        setSignedIn(hasToken());
        setAsked((n) => n + 1);
      }),
    [],
  );
  useEffect(() => {
    const controller = new AbortController();
    api.whoami(controller.signal).then(
      (answer) => {
        setWho(answer);
        setWhoError(undefined);
      },
      (error) => {
        if (!controller.signal.aborted) setWhoError(describe(error));
      },
    );
    return () => controller.abort();
  }, [asked]);
  const needsToken = who?.tokenRequired === true && who.role === undefined;
  return (
    <>
      <header class="top">
        <strong>Switchyard</strong>
        <nav aria-label="Pages">
          {PAGES.map(({ page, title }) => (
            <a key={page} href={`#/${page}`} aria-current={route.page === page ? "page" : undefined}>
              {title}
            </a>
          ))}
        </nav>
        {who?.tokenRequired && who.role !== undefined && (
          <span class="who">
            <span class="visually-hidden">Signed in as </span>
            {who.name} ({who.role})
          </span>
        )}
        {signedIn && !needsToken && (
          <button type="button" class="link" onClick={() => setToken(undefined)}>
            Forget token
          </button>
        )}
      </header>
      <ErrorLine error={whoError} />
      {/* Pages stay unmounted (and silent) until the tab knows who it is, and while it needs a token. */}
      {needsToken ? (
        <TokenForm refused={signedIn} />
      ) : who !== undefined || whoError !== undefined ? (
        <CanChange.Provider value={who?.role === "operator"}>
          <Page route={route} />
        </CanChange.Provider>
      ) : null}
    </>
  );
}

function Page({ route }: { route: ReturnType<typeof useRoute> }) {
  switch (route.page) {
    case "deliveries":
      return <DeliveriesPage params={route.params} />;
    case "events":
      return <EventPage id={route.rest} tenant={route.params.get("tenant") ?? undefined} />;
    case "dead-letters":
      return <DeadLettersPage params={route.params} />;
    case "audit":
      return <AuditPage />;
    default:
      return <OverviewPage params={route.params} />;
  }
}

/** The server has an admin token: ask for it, keep it for this tab, send it as a header. */
function TokenForm({ refused }: { refused: boolean }) {
  const [value, setValue] = useState("");
  return (
    <main>
      <form
        class="token"
        aria-label="Admin token"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) setToken(value.trim());
        }}
      >
        <h1>Admin token</h1>
        <p>
          {refused ? "The server refused that token. " : ""}This server needs its admin token for the console.
        </p>
        <label>
          Token{" "}
          <input
            type="password"
            autoComplete="off"
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
            // biome-ignore lint/a11y/noAutofocus: the form is the only thing on the page
            autoFocus
          />
        </label>
        <button type="submit">Use token</button>
      </form>
    </main>
  );
}

render(<App />, document.getElementById("app")!);
