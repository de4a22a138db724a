import { z } from "zod";

/** Static AWS credentials; without them the AWS SDK's default chain applies (env, profile, SSO, IMDS…). */
const awsCredentials = z.strictObject({
  accessKeyId: z.string().min(1).describe("the access key id"),
  secretAccessKey: z.string().min(1).describe("the secret access key; never logged"),
  sessionToken: z.string().min(1).optional().describe("the session token of temporary credentials"),
});

/** The options of the sqs plugin; see the README for each one. */
export const sqsOptions = z.strictObject({
  queueUrl: z
    .url({
      protocol: /^https?$/,
      error: (issue) => (issue.input === undefined ? undefined : "must be the queue's URL"),
    })
    .describe("the queue's URL; a name ending in `.fifo` makes it a FIFO queue"),
  region: z
    .string()
    .regex(/^[a-z0-9-]+$/, { error: "must be an AWS region like us-east-1" })
    .optional()
    .describe(
      "the AWS region; default: from an `sqs.<region>.amazonaws.com` queue URL, else the SDK's chain",
    ),
  credentials: awsCredentials
    .optional()
    .describe("static credentials; default: the SDK's chain (environment, profile, SSO, IMDS, ECS)"),
  endpoint: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
    .optional()
    .describe("another endpoint, for local emulators and tests (e.g. `http://127.0.0.1:4566`); default: AWS"),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .max(120_000)
    .default(10_000)
    .describe("longest wait for one `SendMessageBatch` call; the host's budget applies too"),
});

/** Options as written in the config. */
export type SqsOptions = z.input<typeof sqsOptions>;
/** Options with defaults applied. */
export type ResolvedSqsOptions = z.output<typeof sqsOptions>;
