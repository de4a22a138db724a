import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.js";
import { waitFor } from "./wait-for.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An echo server and a proxy in front of it; `heard()` is everything the server received. */
async function echoThroughProxy(): Promise<{ proxy: FaultProxy; echo: Server; heard: () => string }> {
  let heard = "";
  const echo = createServer((socket) => {
    socket.on("data", (chunk) => {
      heard += chunk.toString();
    });
    socket.pipe(socket);
  });
  echo.listen(0, "127.0.0.1");
  await once(echo, "listening");
  cleanups.push(async () => {
    echo.close();
  });
  const proxy = await startFaultProxy({ host: "127.0.0.1", port: (echo.address() as AddressInfo).port });
  cleanups.push(() => proxy.close());
  return { proxy, echo, heard: () => heard };
}

async function client(proxy: FaultProxy): Promise<Socket & { received: () => string }> {
  const socket = connect(proxy.port, proxy.host);
  await once(socket, "connect");
  let text = "";
  socket.on("data", (chunk) => {
    text += chunk.toString();
  });
  socket.on("error", () => {});
  cleanups.push(async () => {
    socket.destroy();
  });
  return Object.assign(socket, { received: () => text });
}

describe("fault proxy", () => {
  it("forwards both ways and counts connections", async () => {
    const { proxy } = await echoThroughProxy();
    const socket = await client(proxy);
    socket.write("hello");
    await waitFor(() => socket.received() === "hello");
    expect(proxy.openConnections()).toBe(1);
    expect(proxy.acceptedConnections()).toBe(1);
  });

  it("drops every connection at once", async () => {
    const { proxy } = await echoThroughProxy();
    const [a, b] = [await client(proxy), await client(proxy)];
    await waitFor(() => proxy.openConnections() === 2);
    proxy.dropAll();
    await Promise.all([once(a, "close"), once(b, "close")]);
    expect(proxy.openConnections()).toBe(0);
    const again = await client(proxy);
    again.write("back");
    await waitFor(() => again.received() === "back");
  });

  it("holds bytes in a black hole, on open and new connections, and releases them in order on heal", async () => {
    const { proxy } = await echoThroughProxy();
    const open = await client(proxy);
    proxy.blackHole();
    open.write("one ");
    open.write("two");
    const fresh = await client(proxy);
    fresh.write("three");
    proxy.heal();
    await waitFor(() => open.received() === "one two" && fresh.received() === "three");
  });

  it("delays chunks, keeping their order", async () => {
    const { proxy } = await echoThroughProxy();
    const socket = await client(proxy);
    proxy.delay(50);
    for (const part of ["a", "b", "c", "d"]) socket.write(part);
    await waitFor(() => socket.received() === "abcd");
    proxy.heal();
    socket.write("e");
    await waitFor(() => socket.received() === "abcde");
  });

  it("cuts a connection once the server has answered a marked request, the answer lost; others pass", async () => {
    const { proxy, heard } = await echoThroughProxy();
    const socket = await client(proxy);
    socket.write("BEGIN ");
    await waitFor(() => socket.received() === "BEGIN ");
    const cut = proxy.cutAfterAnswer("COMMIT");
    socket.write("COMMIT");
    await Promise.all([cut, once(socket, "close")]);
    expect(heard()).toBe("BEGIN COMMIT");
    expect(socket.received()).toBe("BEGIN ");
    const next = await client(proxy);
    next.write("COMMIT again");
    await waitFor(() => next.received() === "COMMIT again");
  });

  it("after a cut with then: hole, holds every byte until heal", async () => {
    const { proxy, heard } = await echoThroughProxy();
    const socket = await client(proxy);
    const cut = proxy.cutAfterAnswer("COMMIT", "hole");
    socket.write("COMMIT");
    await Promise.all([cut, once(socket, "close")]);
    const next = await client(proxy);
    next.write("status?");
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard()).toBe("COMMIT");
    proxy.heal();
    await waitFor(() => next.received() === "status?");
  });

  it("silences the connections open now, for good, and passes later ones", async () => {
    const { proxy, heard } = await echoThroughProxy();
    const old = await client(proxy);
    old.write("one ");
    await waitFor(() => old.received() === "one ");
    proxy.silenceOpen();
    old.write("lost");
    const fresh = await client(proxy);
    fresh.write("two");
    await waitFor(() => fresh.received() === "two");
    expect(heard()).toBe("one two");
    expect(old.received()).toBe("one ");
    expect(old.destroyed).toBe(false);
  });
});
