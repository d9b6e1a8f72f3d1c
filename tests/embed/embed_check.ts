/**
 * Embedding check, runtime-neutral (no Deno.* or Bun.*): run with `deno run -A` or `bun`. Two nsqd and
 * an nsqlookupd in one process, start/stop cycles, a publish in-process consumed over TCP, stats,
 * persistence across a stop/start on the same data path. Prints one JSON line; exits 1 on failure.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNsqd, startNsqlookupd } from "../../mod.ts";

const exit = (code: number) =>
  (globalThis as unknown as { process: { exit(c: number): never } }).process.exit(code);

function fail(msg: string): never {
  console.log(JSON.stringify({ ok: false, error: msg }));
  return exit(1);
}

/** SUB + RDY over TCP and resolve with the first message body. */
function consumeOne(port: number, topic: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1", () => sock.write(`  V2SUB ${topic} c\nRDY 1\n`));
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
        if (view.getInt32(4) === 2) {
          const data = buf.subarray(8, 4 + size);
          const id = new TextDecoder().decode(data.subarray(10, 26));
          sock.end(`FIN ${id}\n`);
          resolve(new TextDecoder().decode(data.subarray(26)));
          return;
        }
        buf = buf.slice(4 + size);
      }
    });
    sock.on("error", reject);
    setTimeout(() => reject(new Error("no message within 5 s")), 5000);
  });
}

const dirs = [mkdtempSync(join(tmpdir(), "embed-a-")), mkdtempSync(join(tmpdir(), "embed-b-"))];
const result: Record<string, unknown> = { ok: true };
try {
  const lookupd = await startNsqlookupd({
    tcpAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    logLevel: "error",
  });
  const common = {
    tcpAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    broadcastAddress: "127.0.0.1",
    lookupdTcpAddresses: [`127.0.0.1:${lookupd.tcpAddr!.port}`],
    logLevel: "error" as const,
  };
  // Two brokers in one process.
  const a = await startNsqd({ ...common, dataPath: dirs[0] });
  const b = await startNsqd({ ...common, dataPath: dirs[1] });
  if (a.tcpAddr!.port === b.tcpAddr!.port) fail("both brokers on one port");
  a.publish("t", "from a");
  b.publish("t", "from b");
  result.consumedA = await consumeOne(a.tcpAddr!.port, "t");
  result.consumedB = await consumeOne(b.tcpAddr!.port, "t");
  // Both registered with the lookupd.
  let producers = 0;
  for (let i = 0; i < 50 && producers < 2; i++) {
    const res = await fetch(`http://127.0.0.1:${lookupd.httpAddr!.port}/lookup?topic=t`);
    producers = res.ok ? ((await res.json()) as { producers: unknown[] }).producers.length : 0;
    if (producers < 2) await new Promise((r) => setTimeout(r, 100));
  }
  result.lookupProducers = producers;
  // Stats in-process; a message left queued survives a stop/start cycle on the same data path.
  a.publish("kept", "persisted");
  result.depthBefore = a.stats({ topic: "kept" }).topics?.[0]?.depth;
  await a.close();
  await b.close();
  for (let cycle = 0; cycle < 3; cycle++) {
    const again = await startNsqd({ ...common, dataPath: dirs[0] });
    const depth = again.stats({ topic: "kept" }).topics?.[0]?.depth;
    if (depth !== 1) fail(`cycle ${cycle}: depth ${depth} after restart`);
    await again.close();
  }
  const last = await startNsqd({ ...common, dataPath: dirs[0] });
  result.consumedAfterRestart = await consumeOne(last.tcpAddr!.port, "kept");
  await last.close();
  await lookupd.close();
  // Ports are released: the same ports can be bound again.
  const again = await startNsqd({
    ...common,
    dataPath: dirs[0],
    tcpAddress: `127.0.0.1:${last.tcpAddr!.port}`,
  });
  await again.close();
  result.portsReleased = true;
} catch (err) {
  fail(String((err as Error)?.stack ?? err));
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
exit(0);
