/**
 * A Bun script of a project that is not this repository (a package.json with `nsq-ts` installed, nothing
 * else): start a broker, publish with the Producer, consume over TCP, stop, print one JSON line.
 * tests/e2e/package_test.ts runs it there with `bun --no-install`; in this repository deno.json maps
 * `nsq-ts` to ./mod.ts, so `deno task check` checks it against the sources.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Producer, RELEASE_VERSION, startNsqd } from "nsq-ts";

const exit = (code: number) =>
  (globalThis as unknown as { process: { exit(c: number): never } }).process.exit(code);

// TODO(consumer): replace with the package's Consumer once it lands (src/client/, mod.ts).
/** SUB + RDY 1 over raw TCP, FIN the first message and resolve with its body. */
function consumeOne(port: number, topic: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message within 5 s")), 5000);
    const sock = connect(port, "127.0.0.1", () => sock.write(`  V2SUB ${topic} app\nRDY 1\n`));
    let buf = new Uint8Array(0);
    sock.on("data", (chunk: Uint8Array) => {
      const next = new Uint8Array(buf.length + chunk.length);
      next.set(buf);
      next.set(chunk, buf.length);
      buf = next;
      while (buf.length >= 8) {
        const view = new DataView(buf.buffer, buf.byteOffset);
        const size = view.getUint32(0);
        if (buf.length < 4 + size) return;
        if (view.getInt32(4) === 2) { // a message frame: timestamp, attempts, 16-byte ID, body
          const data = buf.subarray(8, 4 + size);
          sock.end(`FIN ${new TextDecoder().decode(data.subarray(10, 26))}\n`);
          clearTimeout(timer);
          resolve(new TextDecoder().decode(data.subarray(26)));
          return;
        }
        buf = buf.slice(4 + size);
      }
    });
    sock.on("error", reject);
  });
}

const dataPath = mkdtempSync(join(tmpdir(), "nsq-app-"));
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
  exit(1);
} finally {
  rmSync(dataPath, { recursive: true, force: true });
}
exit(0);
