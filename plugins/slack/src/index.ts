import { type ChatPostMessageArguments, type Logger, LogLevel, WebClient } from "@slack/web-api";
import { createPatternTable, definePlugin, errorPrefix, PermanentError } from "@switchyard/core";
import { toDeliveryError } from "./errors.js";
import { defaultMessage, type SlackMessage } from "./message.js";
import { optionsSchema, type TemplateFunction } from "./options.js";
import { renderTemplate } from "./template.js";
import { createTransport } from "./transport.js";

export type { SlackBlock, SlackMessage } from "./message.js";
export { defaultMessage } from "./message.js";
export type { SlackOptions, TemplateFunction } from "./options.js";

const PREFIX = errorPrefix("slack");
const SLACK_API_URL = "https://slack.com/api/";
const DEFAULT_TIMEOUT_MS = 10_000;

/** Post Auth0 events to Slack channels with `chat.postMessage`. */
const slack = definePlugin({
  name: "slack",
  options: optionsSchema,
  create(options) {
    const channelFor =
      typeof options.channel === "string"
        ? (() => {
            const channel = options.channel;
            return () => channel;
          })()
        : createPatternTable(options.channel);
    const templateFor = createPatternTable(options.templates ?? {});
    const transport = createTransport();
    const client = new WebClient(options.token, {
      slackApiUrl: options.apiUrl ?? SLACK_API_URL,
      // Retries belong to the host (durable, budgeted): the SDK must neither retry nor sleep on a 429.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      // The queue must never hold calls back, or they would lose their per-call abort signal (see transport.ts).
      maxRequestConcurrency: Number.POSITIVE_INFINITY,
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      fetch: transport.fetch,
      logger: silentLogger(),
      allowAbsoluteUrls: false,
    });

    return {
      async onExecuteEventStream({ message: event }, api) {
        const channel = channelFor(event.type);
        if (channel === undefined) {
          api.log.debug(`${PREFIX} no channel for "${event.type}": nothing sent`, {
            type: event.type,
          });
          return;
        }
        const template = templateFor(event.type);
        const message = template === undefined ? defaultMessage(event) : await render(template, event);
        api.signal.throwIfAborted();
        const args = {
          channel,
          text: message.text,
          ...(message.blocks ? { blocks: message.blocks } : {}),
          // Links and avatars in event data would otherwise expand into large previews.
          unfurl_links: false,
          unfurl_media: false,
        } as ChatPostMessageArguments;
        try {
          const result = await transport.withSignal(api.signal, () => client.chat.postMessage(args));
          api.log.debug(`${PREFIX} posted`, { channel: result.channel ?? channel, ts: result.ts });
        } catch (error) {
          throw toDeliveryError(error, { channel, token: options.token });
        }
      },
      close: () => transport.close(),
    };
  },
});

export default slack;

async function render(template: string | TemplateFunction, event: Parameters<TemplateFunction>[0]) {
  if (typeof template === "string") return { text: renderTemplate(template, event) };
  const result = await template(event);
  const message: SlackMessage | undefined = typeof result === "string" ? { text: result } : result;
  if (!message || typeof message.text !== "string" || message.text === "") {
    throw new PermanentError(`${PREFIX} the template for "${event.type}" returned no text`);
  }
  return message;
}

// Our errors carry what matters; the SDK's own console lines would only repeat them.
function silentLogger(): Logger {
  let level = LogLevel.ERROR;
  const noop = () => {};
  return {
    debug: noop,
    info: noop,
    warn: noop,
    error: noop,
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: noop,
  };
}
