/**
 * A Bun script of a project that is not this repository (a package.json with `nsq-ts` installed, nothing
 * else): start a broker, publish with the Producer, consume with the Consumer, stop, print one JSON line.
 * tests/e2e/package_test.ts runs it there with `bun --no-install`; in this repository deno.json maps
 * `nsq-ts` to ./mod.ts, so `deno task check` checks it against the sources.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Consumer, Producer, RELEASE_VERSION, startNsqd } from "nsq-ts";

const exit = (code: number) =>
  (globalThis as unknown as { process: { exit(c: number): never } }).process.exit(code);

/** Subscribes with the package's Consumer and resolves with the body of the first message (FINed). */
async function consumeOne(port: number, topic: string): Promise<string> {
  const consumer = new Consumer(topic, "app");
  const first = new Promise<string>((resolve) => consumer.addHandler((msg) => resolve(msg.text)));
  await consumer.connectToNsqd(`127.0.0.1:${port}`);
  const body = await first;
  await consumer.stop();
  return body;
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
