// Preact (4 KB gzipped) rather than plain DOM code: the pages re-render every 2 s from polled data, and its
// diffing keeps focus, typed filters and scroll in place where rebuilding the DOM by hand would not.
import "./style.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { hasToken, onTokenNeeded, setToken } from "./api.ts";
import { DeadLettersPage } from "./pages/dead-letters.tsx";
import { DeliveriesPage } from "./pages/deliveries.tsx";
import { EventPage } from "./pages/event.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { useRoute } from "./router.ts";

const PAGES = [
  { page: "", title: "Overview" },
  { page: "deliveries", title: "Deliveries" },
  { page: "dead-letters", title: "Dead letters" },
];

function App() {
  const route = useRoute();
  const [needsToken, setNeedsToken] = useState(false);
  const [signedIn, setSignedIn] = useState(hasToken());
  useEffect(
    () =>
      onTokenNeeded((needed) => {
        setNeedsToken(needed);
        setSignedIn(hasToken());
      }),
    [],
  );
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
        {signedIn && !needsToken && (
          <button type="button" class="link" onClick={() => setToken(undefined)}>
            Forget token
          </button>
        )}
      </header>
      {/* Pages stay unmounted (and silent) while the server waits for a token. */}
      {needsToken ? <TokenForm refused={signedIn} /> : <Page route={route} />}
    </>
  );
}

function Page({ route }: { route: ReturnType<typeof useRoute> }) {
  switch (route.page) {
    case "deliveries":
      return <DeliveriesPage params={route.params} />;
    case "events":
      return <EventPage id={route.rest} />;
    case "dead-letters":
      return <DeadLettersPage params={route.params} />;
    default:
      return <OverviewPage />;
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
