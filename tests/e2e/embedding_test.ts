import assert from "node:assert/strict";
import { startNsqd, startNsqlookupd } from "../../mod.ts";
import { commandFor, RUNTIMES } from "./harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

// The embedding API under each runtime: two brokers and a lookupd in one process, start/stop cycles,
// persistence across them, ports released (tests/embed/embed_check.ts, runtime-neutral).
for (const runtime of RUNTIMES.filter((r) => r !== "bin")) {
  Deno.test(`[${runtime}] mod.ts embeds two nsqd and an nsqlookupd in one process, through start/stop cycles`, async () => {
    const cmd = commandFor(runtime, "nsqd");
    const args = runtime === "deno"
      ? ["run", "-A", `${ROOT}tests/embed/embed_check.ts`]
      : [`${ROOT}tests/embed/embed_check.ts`];
    const out = await new Deno.Command(cmd[0], { args, stdout: "piped", stderr: "piped" }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim();
    assert.equal(out.code, 0, `${stdout}\n${new TextDecoder().decode(out.stderr)}`);
    assert.deepEqual(JSON.parse(stdout.split("\n").at(-1)!), {
      ok: true,
      consumedA: "from a",
      consumedB: "from b",
      lookupProducers: 2,
      depthBefore: 1,
      consumedAfterRestart: "persisted",
      portsReleased: true,
    });
  });
}

// In-process under Deno with the test sanitizers ON: close() leaves no timer, op or resource behind.
Deno.test("an embedded nsqd and nsqlookupd stop without leaking timers, ops or resources", async () => {
  const dataPath = await Deno.makeTempDir();
  const lookupd = await startNsqlookupd({
    tcpAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    logLevel: "fatal",
  });
  const nsqd = await startNsqd({
    tcpAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    dataPath,
    lookupdTcpAddresses: [`127.0.0.1:${lookupd.tcpAddr!.port}`],
    logLevel: "fatal",
    e2eProcessingLatencyPercentiles: [0.99],
  });
  nsqd.publish("t", "x");
  nsqd.publish("t", "deferred", { deferMs: 60_000 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: nsqd.tcpAddr!.port });
  await conn.write(new TextEncoder().encode("  V2SUB t c\nRDY 1\n"));
  const buf = new Uint8Array(1024);
  await conn.read(buf); // OK, then the message (maybe in the same read)
  const res = await fetch(`http://127.0.0.1:${nsqd.httpAddr!.port}/stats?format=json`);
  assert.equal((await res.json()).topics[0].topic_name, "t");
  assert.throws(() => nsqd.publish("bad name", "x"), RangeError);
  assert.throws(() => nsqd.publish("t", ""), RangeError);
  conn.close();
  await nsqd.close();
  await lookupd.close();
  await Deno.remove(dataPath, { recursive: true });
});
