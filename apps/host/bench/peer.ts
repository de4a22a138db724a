// The other side of the host benchmarks, in its own process so it does not share the host's thread: a fake
// tenant serving the stream, and a receiver counting deliveries (the `/slow` path answers after `delayMs`).
// Driven over IPC by the host benchmarks (harness.ts).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createEventFactory, startFakeTenant } from "@switchyard/testing";

const tenant = await startFakeTenant({ heartbeatMs: 1_000 });
let received = 0;
let first = 0;
let last = 0;
let delayMs = 0;
let latencies: number[] = [];
/** The id of one event to watch for (failover), and when the receiver first got it. */
let marker: string | undefined;
let markerAt = 0;
const TIME = /"time":"([^"]+)"/;

const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const now = Date.now();
    received++;
    if (first === 0) first = now;
    last = now;
    if (marker !== undefined && markerAt === 0 && Buffer.concat(chunks).includes(`"${marker}"`))
      markerAt = now;
    if (req.url === "/latency") {
      const match = TIME.exec(Buffer.concat(chunks).toString("utf8"));
      if (match) latencies.push(now - Date.parse(match[1]!));
    }
    if (delayMs > 0 && req.url === "/slow") setTimeout(() => res.writeHead(204).end(), delayMs);
    else res.writeHead(204).end();
  });
});
receiver.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));

let stopTrickle: (() => void) | undefined;
process.on("message", (message: { id: number; cmd: string; [key: string]: unknown }) => {
  const reply = (value: unknown) => process.send?.({ id: message.id, value });
  switch (message.cmd) {
    case "appendMany":
      tenant.appendMany(message.count as number, { seed: 1 });
      return reply(null);
    case "appendDistinct": {
      // Realistic events whose subjects (users, organizations, …) are all different, as a tenant's are: the
      // lazy log's few templates per type repeat 65 subjects over any count (see docs/performance.md).
      const factory = createEventFactory({ seed: 1 });
      for (let left = message.count as number; left > 0; left -= 10_000) {
        tenant.append(factory.many(Math.min(left, 10_000)));
      }
      return reply(null);
    }
    case "reset":
      received = 0;
      first = 0;
      last = 0;
      latencies = [];
      delayMs = (message.delayMs as number | undefined) ?? 0;
      return reply(null);
    case "appendMarked":
      // One event, watched for: the receiver notes when it first arrives.
      tenant.appendMany(1, { seed: 1 });
      marker = tenant.eventAt(tenant.size - 1).id;
      markerAt = 0;
      return reply(null);
    case "trickle":
      stopTrickle = tenant.startTrickle(message.rate as number);
      return reply(null);
    case "stopTrickle":
      stopTrickle?.();
      return reply(null);
    case "stats":
      return reply({
        received,
        first,
        last,
        markerAt,
        latencies: message.latencies ? latencies : undefined,
      });
    case "exit":
      reply(null);
      setTimeout(() => process.exit(0), 10);
      return;
  }
});
process.send?.({
  ready: {
    tenant: tenant.url,
    clientId: tenant.clientId,
    clientSecret: tenant.clientSecret,
    receiver: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
  },
});
