import { z } from "zod";

/** Static AWS credentials; without them the AWS SDK's default chain applies (env, profile, SSO, IMDS…). */
export const awsCredentials = z.strictObject({
  accessKeyId: z.string().min(1).describe("the access key id"),
  secretAccessKey: z.string().min(1).describe("the secret access key; never logged"),
  sessionToken: z.string().min(1).optional().describe("the session token of temporary credentials"),
});

/** The options of the eventbridge plugin; see the README for each one. */
export const eventBridgeOptions = z.strictObject({
  eventBusName: z.string().min(1).max(1600).default("default").describe("the bus, by name or ARN"),
  region: z
    .string()
    .regex(/^[a-z0-9-]+$/, { error: "must be an AWS region like us-east-1" })
    .optional()
    .describe("the AWS region; default: the SDK's chain (`AWS_REGION`, the profile)"),
  credentials: awsCredentials
    .optional()
    .describe("static credentials; default: the SDK's chain (environment, profile, SSO, IMDS, ECS)"),
  endpoint: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
    .optional()
    .describe("another endpoint, for local emulators and tests (e.g. `http://127.0.0.1:4566`); default: AWS"),
  source: z
    .string()
    .min(1)
    .max(256)
    .refine((s) => !s.startsWith("aws."), { error: 'must not start with "aws." (reserved by AWS)' })
    .optional()
    .describe("each entry's `Source` (not `aws.…`); default `auth0.<tenant>`, from the event's `a0tenant`"),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .max(120_000)
    .default(10_000)
    .describe("longest wait for one `PutEvents` call; the host's budget applies too"),
});

/** Options as written in the config. */
export type EventBridgeOptions = z.input<typeof eventBridgeOptions>;
/** Options with defaults applied. */
export type ResolvedEventBridgeOptions = z.output<typeof eventBridgeOptions>;
