/**
 * A Deno script of a project that is not this repository (a package.json with `nsq-ts` installed, nothing
 * else): start a broker, publish with the Producer, consume with the Consumer, stop, print one JSON line.
 * tests/e2e/package_test.ts runs and `deno check`s it there against the package's shipped types; in this
 * repository deno.json maps `nsq-ts` to ./mod.ts.
 */
import { Consumer, Producer, RELEASE_VERSION, startNsqd } from "nsq-ts";

/** Subscribes with the package's Consumer and resolves with the body of the first message (FINed). */
async function consumeOne(port: number, topic: string): Promise<string> {
  const consumer = new Consumer(topic, "app");
  const first = new Promise<string>((resolve) => consumer.addHandler((msg) => resolve(msg.text)));
  await consumer.connectToNsqd(`127.0.0.1:${port}`);
  const body = await first;
  await consumer.stop();
  return body;
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
