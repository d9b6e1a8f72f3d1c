import assert from "node:assert/strict";
import { CommandParser, type CommandSink, MAX_LINE_LENGTH } from "../../src/protocol/command_parser.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A sink that follows a tiny grammar: `BODY` lines are followed by a size and that many bytes. */
class Recorder implements CommandSink {
  events: string[] = [];
  parser: CommandParser;
  constructor() {
    this.parser = new CommandParser(this);
  }
  line(line: Uint8Array): void {
    const text = dec.decode(line);
    this.events.push(`line:${text}`);
    if (text.startsWith("BODY")) this.parser.expectSize();
  }
  size(n: number): void {
    this.events.push(`size:${n}`);
    if (n < 0) {
      this.events.push("error");
      this.parser.stop();
      return;
    }
    this.parser.expectBytes(n);
  }
  bytes(data: Uint8Array): void {
    this.events.push(`bytes:${dec.decode(data)}`);
  }
  lineTooLong(): void {
    this.events.push("too-long");
  }
}

function be32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
}

function cat(...parts: (string | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of bytes) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

const STREAM = cat(
  "NOP\n",
  "PUB t\r\n",
  "BODY x\n",
  be32(5),
  "hello",
  "SUB a  b\n",
  "BODY\n",
  be32(0),
  "FIN 1\n",
);
const EXPECTED = [
  "line:NOP",
  "line:PUB t",
  "line:BODY x",
  "size:5",
  "bytes:hello",
  "line:SUB a  b",
  "line:BODY",
  "size:0",
  "bytes:",
  "line:FIN 1",
];

function feed(chunks: Uint8Array[]): string[] {
  const r = new Recorder();
  for (const c of chunks) r.parser.push(c);
  return r.events;
}

Deno.test("CommandParser reads a stream given whole", () => {
  // A zero-length body completes only when the next bytes arrive; here they follow in the same chunk.
  assert.deepEqual(feed([STREAM]), EXPECTED);
});

Deno.test("CommandParser reads the same stream byte by byte", () => {
  const chunks = [...STREAM].map((b) => new Uint8Array([b]));
  assert.deepEqual(feed(chunks), EXPECTED);
});

Deno.test("CommandParser reads the same stream split at every possible point", () => {
  for (let i = 1; i < STREAM.length; i++) {
    for (let j = i; j < STREAM.length; j++) {
      const got = feed([STREAM.subarray(0, i), STREAM.subarray(i, j), STREAM.subarray(j)]);
      assert.deepEqual(got, EXPECTED, `split at ${i},${j}`);
    }
  }
});

Deno.test("CommandParser handles many pipelined commands in one chunk", () => {
  const parts: (string | Uint8Array)[] = [];
  for (let i = 0; i < 1000; i++) parts.push(`BODY ${i}\n`, be32(String(i).length), String(i));
  const events = feed([cat(...parts)]);
  assert.equal(events.length, 3000);
  assert.equal(events[2997], "line:BODY 999");
  assert.equal(events[2999], "bytes:999");
});

Deno.test("CommandParser strips only one trailing \\r and keeps empty lines", () => {
  assert.deepEqual(feed([enc.encode("\n\r\nA\r\r\n")]), ["line:", "line:", "line:A\r"]);
});

Deno.test("CommandParser stops after stop() and ignores later input", () => {
  const events = feed([cat("BODY\n", be32(-1), "NOP\n"), enc.encode("NOP\n")]);
  assert.deepEqual(events, ["line:BODY", "size:-1", "error"]);
});

Deno.test("CommandParser rejects a line that does not fit in 16 KiB, whole or in pieces", () => {
  const long = "A".repeat(MAX_LINE_LENGTH);
  assert.deepEqual(feed([enc.encode(long + "\n")]), ["too-long"]);
  const pieces = [enc.encode(long.slice(0, 10_000)), enc.encode(long.slice(10_000))];
  assert.deepEqual(feed(pieces), ["too-long"]);
  // One byte shorter (with its newline, exactly the buffer) is fine.
  const ok = "A".repeat(MAX_LINE_LENGTH - 1);
  assert.deepEqual(feed([enc.encode(ok.slice(0, 5)), enc.encode(ok.slice(5) + "\n")]), [`line:${ok}`]);
});

Deno.test("CommandParser copes with a large body arriving in many chunks", () => {
  const body = "x".repeat(200_000);
  const stream = cat("BODY\n", be32(body.length), body, "NOP\n");
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += 4096) chunks.push(stream.subarray(i, i + 4096));
  const events = feed(chunks);
  assert.deepEqual(events.map((e) => e.slice(0, 12)), [
    "line:BODY",
    "size:200000",
    "bytes:xxxxxx",
    "line:NOP",
  ]);
  assert.equal(events[2].length, "bytes:".length + body.length);
});

Deno.test("CommandParser reports a partial item for EOF handling", () => {
  const r = new Recorder();
  r.parser.push(enc.encode("BODY\n"));
  r.parser.push(new Uint8Array([0, 0]));
  assert.equal(r.parser.hasPartial, true);
});

Deno.test("CommandParser.pause() holds the rest of the chunk and later chunks until resume(), in order", () => {
  const events: string[] = [];
  const parser: CommandParser = new CommandParser({
    line(line) {
      const text = dec.decode(line);
      events.push(`line:${text}`);
      if (text.startsWith("WAIT")) parser.pause();
      if (text.startsWith("BODY")) parser.expectSize();
    },
    size(n) {
      events.push(`size:${n}`);
      parser.expectBytes(n);
    },
    bytes(data) {
      events.push(`bytes:${dec.decode(data)}`);
    },
    lineTooLong() {},
  });
  parser.push(cat("A\nWAIT 1\nB\nBO", "DY\n"));
  parser.push(cat(be32(2), "hiWAIT 2\nC\n"));
  assert.deepEqual(events, ["line:A", "line:WAIT 1"]);
  assert.equal(parser.paused, true);
  parser.resume();
  assert.deepEqual(events, [
    "line:A",
    "line:WAIT 1",
    "line:B",
    "line:BODY",
    "size:2",
    "bytes:hi",
    "line:WAIT 2",
  ]);
  parser.push(enc.encode("D\n"));
  parser.resume();
  assert.deepEqual(events.slice(7), ["line:C", "line:D"]);
  assert.equal(parser.paused, false);
});

Deno.test("CommandParser hands bodies to bytesAt(buf, start, end) when the sink has it, split or whole", () => {
  const got: string[] = [];
  const parser: CommandParser = new CommandParser({
    line(line) {
      got.push(`line:${dec.decode(line)}`);
      parser.expectSize();
    },
    size(n) {
      parser.expectBytes(n);
    },
    bytes() {
      throw new Error("bytes() must not be called when bytesAt() exists");
    },
    bytesAt(buf, start, end) {
      got.push(`at:${dec.decode(buf.subarray(start, end))}`);
    },
    lineTooLong() {},
  });
  const stream = cat("A\n", be32(5), "hello", "B\n", be32(3), "abc");
  parser.push(stream.subarray(0, 9));
  parser.push(stream.subarray(9));
  assert.deepEqual(got, ["line:A", "at:hello", "line:B", "at:abc"]);
});
