import assert from "node:assert/strict";
import { concat, int32, runtimeTest, withNsqd } from "./harness.ts";

/** A small deterministic PRNG so a failure reproduces. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

const COMMANDS = [
  "IDENTIFY",
  "AUTH",
  "SUB t c",
  "PUB t",
  "MPUB t",
  "DPUB t 10",
  "RDY 5",
  "FIN ",
  "REQ ",
  "TOUCH ",
  "CLS",
  "NOP",
];

/** Random input: fragments of real commands, random sizes (incl. huge and negative) and random bytes. */
function garbage(rand: () => number): Uint8Array {
  const parts: (string | Uint8Array)[] = [];
  const n = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.35) parts.push(COMMANDS[Math.floor(rand() * COMMANDS.length)] + (rand() < 0.8 ? "\n" : ""));
    else if (r < 0.6) parts.push(int32(Math.floor((rand() - 0.3) * 2 ** (rand() * 31))));
    else if (r < 0.75) {
      parts.push(JSON.stringify({ heartbeat_interval: Math.floor(rand() * 5000), x: rand() }));
    } else {
      const bytes = new Uint8Array(Math.floor(rand() * 300));
      for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(rand() * 256);
      parts.push(bytes);
    }
  }
  return concat(...parts);
}

runtimeTest(
  "random and malformed input on many connections never crashes nsqd or disturbs other clients",
  async (rt) => {
    await withNsqd(rt, ["--max-msg-size=1000", "--max-body-size=5000"], async (nsqd) => {
      const good = await nsqd.connectV2();
      await good.sub("fuzz_ok", "c");
      await good.rdy(10);
      const rand = rng(20261122);
      for (let round = 0; round < 150; round++) {
        const c = await nsqd.connect();
        try {
          await c.write(rand() < 0.9 ? "  V2" : "XXXX");
          await c.write(garbage(rand));
          if (rand() < 0.5) await c.closeWrite();
        } catch { /* the server may already have closed it: fine */ }
        c.close();
      }
      // The broker still serves: a publish reaches the well-behaved consumer, HTTP answers.
      const p = await nsqd.connectV2();
      await p.pub("fuzz_ok", "still alive");
      const m = await good.readMessage();
      assert.equal(m.text, "still alive");
      assert.equal(await (await nsqd.http("/ping")).text(), "OK");
      assert.equal(nsqd.proc.stderr.includes("internal error"), false, "no internal error was logged");
      p.close();
      good.close();
    });
  },
  60_000,
);
