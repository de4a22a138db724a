// Small, safe helpers to put event data into Slack text: no eval, own properties only, bounded lengths.

/** The value at a dotted path (`data.object.email`, `data.object.identities.0.connection`), own properties only. */
export function valueAt(root: unknown, path: string): unknown {
  let current = root;
  for (const key of path.split(".")) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** A value as one line of text, cut to `max` characters; undefined for missing or empty values. */
export function display(value: unknown, max: number): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    text = String(value);
  } else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return truncate(text.replace(/\s+/g, " ").trim(), max);
}

/** Cut `text` to at most `max` characters with an ellipsis, never splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * Escape the three characters Slack's mrkdwn treats as control characters, so that event data such as a user
 * named `<!channel>` is shown as text and never pings a channel or forms a link.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
