import { z } from "zod";

/** Static AWS credentials; without them the AWS SDK's default chain applies (env, profile, SSO, IMDS…). */
const awsCredentials = z.strictObject({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().min(1).optional(),
});

/** The options of the sqs plugin; see the README for each one. */
export const sqsOptions = z.strictObject({
  /** The queue's URL; a name ending in `.fifo` makes it a FIFO queue. */
  queueUrl: z.url({
    protocol: /^https?$/,
    error: (issue) => (issue.input === undefined ? undefined : "must be the queue's URL"),
  }),
  /** The AWS region; default: read from an `sqs.<region>.amazonaws.com` queue URL, else the SDK's chain. */
  region: z
    .string()
    .regex(/^[a-z0-9-]+$/, { error: "must be an AWS region like us-east-1" })
    .optional(),
  /** Static credentials; default: the SDK's chain. */
  credentials: awsCredentials.optional(),
  /** Another endpoint, for local emulators and tests (e.g. `http://127.0.0.1:4566`). */
  endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  /** Longest wait for one SendMessageBatch call. */
  timeoutMs: z.number().int().positive().max(120_000).default(10_000),
});

/** Options as written in the config. */
export type SqsOptions = z.input<typeof sqsOptions>;
/** Options with defaults applied. */
export type ResolvedSqsOptions = z.output<typeof sqsOptions>;
