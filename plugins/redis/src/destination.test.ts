import { describeDestination } from "@switchyard/testing/vitest";
import redis, { type RedisOptions } from "./index.js";
import { HOW_TO_RUN, REDIS_SERVER, redisTarget } from "./test-server.js";

describeDestination<RedisOptions>({
  name: "redis",
  factory: redis,
  server: REDIS_SERVER,
  howToRun: HOW_TO_RUN,
  setup: (via) => redisTarget(via),
  invalidOptions: [
    { options: { stream: "s" }, option: "url" },
    { options: { url: "redis://127.0.0.1:6379" }, option: "stream" },
    { options: { url: "http://127.0.0.1:6379", stream: "s" }, option: "url" },
    { options: { url: "redis://127.0.0.1:6379", stream: "auth0:{user}" }, option: "stream" },
    { options: { url: "redis://127.0.0.1:6379", stream: "s", maxLen: 0 }, option: "maxLen" },
    { options: { url: "redis://127.0.0.1:6379", stream: "s", dedupeWindowMs: 10 }, option: "dedupeWindowMs" },
    { options: { url: "redis://127.0.0.1:6379", stream: "s", maxlen: 5 }, option: "maxlen" },
  ],
  quickLiveness: { replyTimeoutMs: 300 },
  secrets: (options) => [new URL(options.url).password],
});
