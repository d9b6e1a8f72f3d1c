/**
 * A tiny `nsq_tail`: finds the nsqd instances of a topic through nsqlookupd (or connects to one nsqd),
 * subscribes, prints every message body and FINs it. Runs on Deno and Bun (node:net, fetch).
 *
 *   deno run -A examples/tail.ts --lookupd-http-address=127.0.0.1:4161 --topic=test [--channel=tail]
 *   bun examples/tail.ts --nsqd-tcp-address=127.0.0.1:4150 --topic=test
 */
import { connect } from "node:net";

const args = new Map(
  ((globalThis as { Deno?: { args: string[] } }).Deno?.args ??
    (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2))
    .map((a) => a.replace(/^--?/, "").split("=") as [string, string]),
);
const topic = args.get("topic");
if (!topic) throw new Error("--topic is required");
const channel = args.get("channel") ?? "tail#ephemeral";

async function producers(): Promise<string[]> {
  const nsqd = args.get("nsqd-tcp-address");
  if (nsqd) return [nsqd];
  const res = await fetch(
    `http://${args.get("lookupd-http-address") ?? "127.0.0.1:4161"}/lookup?topic=${topic}`,
  );
  if (!res.ok) throw new Error(`lookup: ${res.status} ${await res.text()}`);
  const json = await res.json() as { producers: { broadcast_address: string; tcp_port: number }[] };
  return json.producers.map((p) => `${p.broadcast_address}:${p.tcp_port}`);
}

function tail(addr: string): void {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
  const sock = connect(port, host, () => sock.write(`  V2SUB ${topic} ${channel}\nRDY 100\n`));
  let buf = new Uint8Array(0);
  const dec = new TextDecoder();
  sock.on("data", (chunk: Uint8Array) => {
    const next = new Uint8Array(buf.length + chunk.length);
    next.set(buf);
    next.set(chunk, buf.length);
    buf = next;
    while (buf.length >= 8) {
      const view = new DataView(buf.buffer, buf.byteOffset);
      const size = view.getUint32(0);
      if (buf.length < 4 + size) break;
      const type = view.getInt32(4);
      const data = buf.subarray(8, 4 + size);
      if (type === 0 && dec.decode(data) === "_heartbeat_") sock.write("NOP\n");
      else if (type === 1) console.error(`${addr}: ${dec.decode(data)}`);
      else if (type === 2) {
        console.log(dec.decode(data.subarray(26)));
        sock.write(`FIN ${dec.decode(data.subarray(10, 26))}\n`);
      }
      buf = buf.slice(4 + size);
    }
  });
  sock.on("error", (err: Error) => console.error(`${addr}: ${err.message}`));
}

const addrs = await producers();
if (addrs.length === 0) console.error(`no nsqd has topic ${topic} yet: publish to it first`);
for (const addr of addrs) tail(addr);
