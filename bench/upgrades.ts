/**
 * Consumer throughput over each negotiated transport: plain, TLS, Snappy, Deflate (and TLS+Snappy),
 * on Deno and Bun: `deno run -A bench/upgrades.ts [--count=100000] [--runtimes=deno,bun]`.
 * One node:net based client (tests/e2e/upgrade_client.ts) for every mode, so the figures compare
 * the transports, not the clients. Prints a table; keeps raw JSON in bench/results/.
 */
import { type Runtime, RUNTIMES, startNsqd } from "../tests/e2e/harness.ts";
import { identify, UpgradeClient } from "../tests/e2e/upgrade_client.ts";
import { createChannel, publishMpub } from "./load.ts";

const args = new Map(Deno.args.map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const count = Number(args.get("count") ?? 100_000);
const runtimes = (args.get("runtimes")?.split(",") ?? RUNTIMES) as Runtime[];
const FIX = new URL("../tests/e2e/fixtures/", import.meta.url).pathname;
const modes = ["plain", "tls", "snappy", "deflate", "tls+snappy"] as const;

const rows: { runtime: Runtime; mode: string; msgsPerSec: number; mbPerSec: number }[] = [];
for (const runtime of runtimes) {
  const nsqd = await startNsqd(runtime, [
    `--tls-cert=${FIX}server.pem`,
    `--tls-key=${FIX}server.key`,
    "--https-address=127.0.0.1:0",
    "--mem-queue-size=1000000",
  ]);
  try {
    for (const mode of modes) {
      const topic = `bench_${mode.replace("+", "_")}`;
      await createChannel(nsqd.tcpPort, topic, "ch");
      // Pre-fill with `count` 100-byte messages.
      while (((await nsqd.stats(`&topic=${topic}`)).topics[0].channels[0].depth as number) < count) {
        await publishMpub(nsqd.tcpPort, { topic, seconds: 0.05 });
      }
      const c = await UpgradeClient.connect(nsqd.tcpPort);
      await identify(c, {
        tls_v1: mode.startsWith("tls"),
        snappy: mode.endsWith("snappy"),
        deflate: mode === "deflate",
        output_buffer_size: 65536,
      });
      if (mode.startsWith("tls")) {
        await c.startTls();
        await c.readFrame();
      }
      if (mode.endsWith("snappy")) c.startSnappy();
      if (mode === "deflate") c.startDeflate(6);
      if (mode !== "plain" && mode !== "tls") await c.readFrame();
      c.command(`SUB ${topic} ch`);
      await c.readFrame();
      const start = performance.now();
      c.command("RDY 2500");
      let got = 0;
      let bytes = 0;
      const dec = new TextDecoder();
      while (got < count) {
        // Every complete frame at once; FINs for the batch in one write.
        let fins = "";
        const n = await c.drainFrames((type, data, off, len) => {
          if (type !== 2) return;
          got++;
          bytes += len - 26;
          fins += `FIN ${dec.decode(data.subarray(off + 10, off + 26))}\n`;
        });
        if (n === 0) throw new Error("connection closed");
        if (fins !== "") c.write(fins);
      }
      const secs = (performance.now() - start) / 1000;
      rows.push({ runtime, mode, msgsPerSec: got / secs, mbPerSec: bytes / secs / 1e6 });
      c.close();
    }
  } finally {
    await nsqd.stop();
  }
}
console.log(`\nconsumer throughput by transport — ${count} × 100 B messages, RDY 2500, one node:net client`);
console.log("| runtime | transport | msg/s | MB/s |\n|---|---|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${r.runtime} | ${r.mode} | ${Math.round(r.msgsPerSec).toLocaleString("en-US")} | ${
      r.mbPerSec.toFixed(1)
    } |`,
  );
}
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
await Deno.writeTextFile(
  new URL(`./results/upgrades-${new Date().toISOString().replaceAll(":", "-")}.json`, import.meta.url),
  JSON.stringify({ count, rows }, null, 2),
);
