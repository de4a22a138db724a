import { patternError } from "@switchyard/core";
import { z } from "zod";
import type { MappingFunction } from "./mapping.js";

const override = z.strictObject({
  event: z.string().min(1).optional().describe("the `track` call's event name"),
  identify: z.boolean().optional().describe("add (`true`) or drop (`false`) the `identify` call"),
  group: z.boolean().optional().describe("add (`true`) or drop (`false`) the `group` call"),
  properties: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("merged into the `track` call's properties"),
  integrations: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("Segment's per-destination switches (`integrations`), sent with every call of the event"),
});

const mappingFunction = z.custom<MappingFunction>((value) => typeof value === "function", {
  message: "expected false, true, an object like { event: 'Signed Up' } or a function",
});

const mapping = z
  .record(z.string(), z.union([z.boolean(), override, mappingFunction]))
  .superRefine((entries, ctx) => {
    for (const key of Object.keys(entries)) {
      const error = patternError(key);
      if (error) ctx.addIssue({ code: "custom", message: error, path: [key] });
    }
  });

/** The options schema of the Segment plugin. */
export const segmentOptionsSchema = z.strictObject({
  writeKey: z.string().min(1).describe("the Segment source's write key; never logged nor put in errors"),
  host: z
    .url({ protocol: /^https?$/ })
    .default("https://api.segment.io")
    .describe("base URL of Segment's tracking API (EU workspaces: `https://events.eu1.segmentapis.com`)"),
  path: z.string().startsWith("/").default("/v1/batch").describe("path of the batch endpoint"),
  // Capped at 100 so that batches stay under Segment's 500 KB per request (a rejected batch fails every
  // delivery in it, and the SDK's own size check undercounts).
  flushAt: z
    .int()
    .min(1)
    .max(100)
    .default(15)
    .describe(
      "send a batch as soon as it holds this many messages… (1-100, so that batches stay under Segment's 500 KB per request)",
    ),
  flushIntervalMs: z
    .int()
    .min(1)
    .max(10_000)
    .default(500)
    .describe("…or this long after its first message, whichever comes first"),
  requestTimeoutMs: z
    .int()
    .min(100)
    .max(60_000)
    .default(5_000)
    .describe("give up on one HTTP request after this long (the delivery fails retryable)"),
  closeTimeoutMs: z
    .int()
    .min(0)
    .max(60_000)
    .default(5_000)
    .describe("how long `close()` waits to send what is pending before dropping the connections"),
  mapping: mapping
    .default({})
    .describe(
      "per event type or pattern (`user.created`, `organization.*`, `*`): `false` (send nothing), `true` (the default mapping), an override object, or (in code) a function; the most specific key wins (exact type, then the longest prefix, then `*`)",
    ),
});

/** Options as written in a config file or passed to `segment(…)`. */
export type SegmentOptions = z.input<typeof segmentOptionsSchema>;

/** Options after defaults are applied. */
export type ResolvedSegmentOptions = z.output<typeof segmentOptionsSchema>;
