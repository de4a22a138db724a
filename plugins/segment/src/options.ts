import { patternError } from "@switchyard/core";
import { z } from "zod";
import type { MappingFunction } from "./mapping.js";

const override = z.strictObject({
  event: z.string().min(1).optional(),
  identify: z.boolean().optional(),
  group: z.boolean().optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  integrations: z.record(z.string(), z.unknown()).optional(),
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
  /** The Segment source's write key (a secret: never logged). */
  writeKey: z.string().min(1),
  /** Base URL of Segment's tracking API (EU workspaces: `https://events.eu1.segmentapis.com`). */
  host: z.url({ protocol: /^https?$/ }).default("https://api.segment.io"),
  path: z.string().startsWith("/").default("/v1/batch"),
  /**
   * Send a batch once it holds this many messages… Capped at 100 so that batches stay under Segment's 500 KB per
   * request (a rejected batch fails every delivery in it, and the SDK's own size check undercounts).
   */
  flushAt: z.int().min(1).max(100).default(15),
  /** …or this long after its first message, whichever comes first. */
  flushIntervalMs: z.int().min(1).max(10_000).default(500),
  /** Give up on one HTTP request after this long (the delivery then fails retryable). */
  requestTimeoutMs: z.int().min(100).max(60_000).default(5_000),
  /** How long `close()` waits for pending messages to be sent. */
  closeTimeoutMs: z.int().min(0).max(60_000).default(5_000),
  /** Per event type or pattern: `false` to skip, overrides of the default mapping, or a function. */
  mapping: mapping.default({}),
});

/** Options as written in a config file or passed to `segment(…)`. */
export type SegmentOptions = z.input<typeof segmentOptionsSchema>;

/** Options after defaults are applied. */
export type ResolvedSegmentOptions = z.output<typeof segmentOptionsSchema>;
