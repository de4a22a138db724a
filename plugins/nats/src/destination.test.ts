import { describeDestination } from "@switchyard/testing/vitest";
import nats, { type NatsOptions } from "./index.js";
import { HOW_TO_RUN, NATS_SERVER, natsTarget } from "./test-server.js";

const servers = "nats://127.0.0.1:4222";

describeDestination<NatsOptions>({
  name: "nats",
  factory: nats,
  server: NATS_SERVER,
  howToRun: HOW_TO_RUN,
  setup: (via) => natsTarget(via),
  invalidOptions: [
    { options: { subject: "a" }, option: "servers" },
    { options: { servers }, option: "subject" },
    { options: { servers: "http://127.0.0.1:4222", subject: "a" }, option: "servers.0" },
    { options: { servers: [], subject: "a" }, option: "servers" },
    { options: { servers, subject: "auth0.{user}" }, option: "subject" },
    { options: { servers, subject: "auth0.>" }, option: "subject" },
    { options: { servers, subject: "a", connectTimeoutMs: -1 }, option: "connectTimeoutMs" },
    { options: { servers, subject: "a", Subject: "b" }, option: "Subject" },
  ],
  quickLiveness: { pingIntervalMs: 300 },
  secrets: (options) => [new URL([options.servers].flat()[0] ?? "").password],
});
