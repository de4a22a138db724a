import { startFakeTenant } from "@switchyard/testing";
import { expect, test } from "vitest";
import { stream } from "../src/index.js";

test("smoke", async () => {
  const tenant = await startFakeTenant();
  tenant.appendMany(100);
  const ac = new AbortController();
  const got: string[] = [];
  for await (const item of stream({ domain: tenant.url, auth: { token: tenant.token }, fromTimestamp: new Date(0), signal: ac.signal })) {
    got.push(item.offset);
    if (got.length === 100) ac.abort();
  }
  expect(got[99]).toBe(tenant.offsetOf(99));
  await tenant.close();
});
