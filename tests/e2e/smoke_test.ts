import assert from "node:assert/strict";
import { runtimeTest, withNsqd } from "./harness.ts";

runtimeTest("PUB then SUB delivers the message with attempts 1", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const p = await nsqd.connectV2();
    await p.pub("t", "hello");
    const c = await nsqd.connectV2();
    await c.sub("t", "ch");
    await c.rdy(1);
    const m = await c.readMessage();
    assert.equal(m.text, "hello");
    assert.equal(m.attempts, 1);
    assert.match(m.id, /^[0-9a-f]{16}$/);
    await c.fin(m.id);
    await c.command("NOP");
    p.close();
    c.close();
  });
});
