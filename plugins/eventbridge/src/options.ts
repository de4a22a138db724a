import { z } from "zod";

/** Static AWS credentials; without them the AWS SDK's default chain applies (env, profile, SSO, IMDS…). */
export const awsCredentials = z.strictObject({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().min(1).optional(),
});

/** The options of the eventbridge plugin; see the README for each one. */
export const eventBridgeOptions = z.strictObject({
  /** The bus: its name or ARN. */
  eventBusName: z.string().min(1).max(1600).default("default"),
  /** The AWS region; default: the SDK's chain (AWS_REGION, the profile). */
  region: z
    .string()
    .regex(/^[a-z0-9-]+$/, { error: "must be an AWS region like us-east-1" })
    .optional(),
  /** Static credentials; default: the SDK's chain. */
  credentials: awsCredentials.optional(),
  /** Another endpoint, for local emulators and tests (e.g. `http://127.0.0.1:4566`). */
  endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  /** Each entry's `Source`; default `auth0.<tenant>` from the event's `a0tenant`. */
  source: z
    .string()
    .min(1)
    .max(256)
    .refine((s) => !s.startsWith("aws."), { error: 'must not start with "aws." (reserved by AWS)' })
    .optional(),
  /** Longest wait for one PutEvents call. */
  timeoutMs: z.number().int().positive().max(120_000).default(10_000),
});

/** Options as written in the config. */
export type EventBridgeOptions = z.input<typeof eventBridgeOptions>;
/** Options with defaults applied. */
export type ResolvedEventBridgeOptions = z.output<typeof eventBridgeOptions>;
