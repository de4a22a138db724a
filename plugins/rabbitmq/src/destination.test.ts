import { describeDestination } from "@switchyard/testing/vitest";
import rabbitmq, { type RabbitmqOptions } from "./index.js";
import { HOW_TO_RUN, RABBITMQ_SERVER, rabbitTarget } from "./test-server.js";

const url = "amqp://guest:guest@127.0.0.1:5672";

describeDestination<RabbitmqOptions>({
  name: "rabbitmq",
  factory: rabbitmq,
  server: RABBITMQ_SERVER,
  howToRun: HOW_TO_RUN,
  setup: (via) => rabbitTarget(via),
  invalidOptions: [
    { options: { exchange: "x" }, option: "url" },
    { options: { url }, option: "exchange" },
    { options: { url: "http://127.0.0.1:5672", exchange: "x" }, option: "url" },
    { options: { url, exchange: "x", routingKey: "auth0.{user}" }, option: "routingKey" },
    { options: { url, exchange: "x", declareExchange: "x-delayed" }, option: "declareExchange" },
    { options: { url, exchange: "x", connectTimeoutMs: 0 }, option: "connectTimeoutMs" },
    { options: { url, exchange: "x", routingkey: "{type}" }, option: "routingkey" },
  ],
  // The local broker's only user is guest/guest: the password is also the user name, which the plugin
  // never prints either, so any trace of the URL is caught.
  quickLiveness: { heartbeatSeconds: 1 },
  secrets: (options) => [new URL(options.url).password],
});
