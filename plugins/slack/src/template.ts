import type { Auth0Event } from "@switchyard/core";
import { display, escapeMrkdwn, valueAt } from "./format.js";

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*)\s*\}\}/g;
const MAX_VALUE = 500;

/**
 * Fill a string template's `{{path.to.field}}` placeholders from the event (`{{type}}`, `{{data.object.email}}`).
 * Missing fields become empty; values are escaped for Slack, the template's own text is not (so `<!here>` works).
 */
export function renderTemplate(template: string, event: Auth0Event): string {
  return template.replace(PLACEHOLDER, (_, path: string) => {
    const value = display(valueAt(event, path), MAX_VALUE);
    return value === undefined ? "" : escapeMrkdwn(value);
  });
}
