/**
 * A Deno script of a project that is not this repository (a package.json with `nsq-ts` installed, nothing
 * else): start a broker, publish with the Producer, consume over TCP, stop, print one JSON line.
 * tests/e2e/package_test.ts runs and `deno check`s it there against the package's shipped types; in this
 * repository deno.json maps `nsq-ts` to ./mod.ts.
 */
import { Producer, RELEASE_VERSION, startNsqd } from "nsq-ts";

// TODO(consumer): replace with the package's Consumer once it lands (src/client/, mod.ts).
/** SUB + RDY 1 over raw TCP, FIN the first message and return its body. */
async function consumeOne(port: number, topic: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(`  V2SUB ${topic} app\nRDY 1\n`));
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(chunk);
      if (n === null) throw new Error("nsqd closed the connection");
      buf = new Uint8Array([...buf, ...chunk.subarray(0, n)]);
      while (buf.length >= 8) {
        const view = new DataView(buf.buffer, buf.byteOffset);
        const size = view.getUint32(0);
        if (buf.length < 4 + size) break;
        if (view.getInt32(4) === 2) { // a message frame: timestamp, attempts, 16-byte ID, body
          const data = buf.subarray(8, 4 + size);
          await conn.write(
            new TextEncoder().encode(`FIN ${new TextDecoder().decode(data.subarray(10, 26))}\n`),
          );
          return new TextDecoder().decode(data.subarray(26));
        }
        buf = buf.slice(4 + size);
      }
    }
  } finally {
    conn.close();
  }
}

const dataPath = await Deno.makeTempDir({ prefix: "nsq-app-" });
try {
  const nsqd = await startNsqd({
    tcpAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    dataPath,
    logLevel: "warn",
  });
  const producer = new Producer(`127.0.0.1:${nsqd.tcpAddr!.port}`);
  await producer.publish("orders", JSON.stringify({ id: 1 }));
  const consumed = await consumeOne(nsqd.tcpAddr!.port, "orders");
  await producer.close();
  await nsqd.close();
  console.log(JSON.stringify({ ok: true, release: RELEASE_VERSION, consumed }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String((err as Error)?.stack ?? err) }));
  Deno.exitCode = 1;
} finally {
  await Deno.remove(dataPath, { recursive: true });
}
