// The bench's SSE server, in its own process so that serving costs no client CPU: 200,000 realistic frames
// (all 25 types, from the fake tenant's event log) serialised once, then written to every request, then EOF.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { EventLog } from "@switchyard/testing";

const count = Number(process.argv[2] ?? 200_000);
const log = new EventLog();
log.appendMany(count);
const blocks: Buffer[] = [Buffer.from(":connected\nretry: 2000\n\n")];
let text = "";
for (let i = 0; i < count; i++) {
  text += log.frameAt(i);
  if (text.length > 1 << 20) {
    blocks.push(Buffer.from(text));
    text = "";
  }
}
blocks.push(Buffer.from(text));
const bytes = blocks.reduce((sum, block) => sum + block.length, 0);

const server = createServer(async (_req, res) => {
  res.writeHead(200, { "content-type": "text/event-stream", "content-length": bytes });
  for (const block of blocks) {
    if (!res.write(block)) await new Promise((resolve) => res.once("drain", resolve));
  }
  res.end();
});
server.listen(0, "127.0.0.1", () => {
  process.send?.({ port: (server.address() as AddressInfo).port, bytes, count });
});
