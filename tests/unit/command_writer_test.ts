import assert from "node:assert/strict";
import { CommandWriter } from "../../src/protocol/command.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("CommandWriter keeps every byte when a body, a newline or appended bytes make it grow", () => {
  const big = new Uint8Array(40_000).fill(0x62);
  for (
    const make of [
      (w: CommandWriter) => w.pub("t", big),
      (w: CommandWriter) => w.pub("t", "b".repeat(40_000)),
    ]
  ) {
    const w = new CommandWriter(16);
    make(w);
    const out = w.bytes();
    assert.equal(text(out.subarray(0, 6)), "PUB t\n");
    assert.equal(new DataView(out.buffer, out.byteOffset).getUint32(6), 40_000);
    assert.equal(out.length, 10 + 40_000);
    assert.ok(out.subarray(10).every((x) => x === 0x62));
  }
  // A newline that lands exactly on the growth boundary.
  const w = new CommandWriter(3);
  w.line("NOP");
  assert.equal(text(w.bytes()), "NOP\n");
  // Appending a backlog larger than the buffer (the Producer's commands issued while connecting).
  const backlog = new CommandWriter();
  backlog.pub("t", big);
  const conn = new CommandWriter();
  conn.append(backlog.bytes());
  assert.deepEqual(conn.bytes(), backlog.bytes());
});
