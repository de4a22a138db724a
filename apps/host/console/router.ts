import { useEffect, useState } from "preact/hooks";

export interface Route {
  /** The page: "", "deliveries", "events", "dead-letters". */
  page: string;
  /** What follows the page in the path (an event id). */
  rest: string;
  params: URLSearchParams;
}

function parse(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  const [page = "", ...rest] = path.split("/");
  return { page, rest: decodeURIComponent(rest.join("/")), params: new URLSearchParams(search) };
}

/** The page in the URL's hash (`#/deliveries?action=x`): links and reloads keep the page and its filters. */
export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return parse(hash);
}

/** A hash link to a page with its query. */
export function href(page: string, params: Record<string, string | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return `#/${page}${text ? `?${text}` : ""}`;
}

/**
 * A link to an event's page. Ids are unique per tenant only: with several tenants, links name the event's,
 * else the page may find the id in more than one.
 */
export const eventHref = (id: string, tenant?: string) =>
  `#/events/${encodeURIComponent(id)}${tenant ? `?${new URLSearchParams({ tenant })}` : ""}`;
