/**
 * Cold start (issue 20): `deno run -A bench/cold_start.ts [--runs=10] [--runtimes=deno,bun,bin]`.
 *
 * For each target (`bin`: the compiled dist/nsqd, skipped when absent) it starts `--runs` fresh nsqd
 * processes, one at a time, on ports picked beforehand, and times: process spawn → first `/ping`
 * answered OK (polled every 2 ms); then, on a new TCP connection, the first IDENTIFY's reply (from
 * writing it) and the first SUB, which creates its topic and channel (from writing it to its OK).
 * Prints the median and the range of each.
 */
import { ChildProcess, commandFor, NsqConn, type Runtime, RUNTIMES } from "../tests/e2e/harness.ts";
import { freePort } from "./process.ts";

const args = new Map(Deno.args.map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const runs = Number(args.get("runs") ?? 10);
const runtimes = ((args.get("runtimes")?.split(",") ?? [...RUNTIMES, "bin"]) as Runtime[]).filter((r) => {
  if (r !== "bin") return true;
  try {
    return Deno.statSync(new URL("../dist/nsqd", import.meta.url)).isFile;
  } catch {
    console.log("no dist/nsqd (./compile.sh --runtime=bun builds it): binary skipped");
    return false;
  }
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function once(runtime: Runtime): Promise<{ ping: number; identify: number; sub: number }> {
  const tcp = freePort();
  const http = freePort();
  const dataPath = await Deno.makeTempDir({ prefix: "nsqd-cold-" });
  const t0 = performance.now();
  const proc = new ChildProcess(commandFor(runtime, "nsqd"), [
    `--tcp-address=127.0.0.1:${tcp}`,
    `--http-address=127.0.0.1:${http}`,
    `--data-path=${dataPath}`,
  ]);
  try {
    let ping = 0;
    while (ping === 0) {
      if (performance.now() - t0 > 20_000) throw new Error(`no /ping after 20 s:\n${proc.stderr}`);
      try {
        const res = await fetch(`http://127.0.0.1:${http}/ping`);
        if (res.status === 200 && await res.text() === "OK") ping = performance.now() - t0;
        else await res.body?.cancel();
      } catch { /* not listening yet */ }
      if (ping === 0) await sleep(2);
    }
    const conn = await NsqConn.connect(tcp);
    try {
      await conn.write("  V2");
      let t = performance.now();
      await conn.command("IDENTIFY", JSON.stringify({ client_id: "cold", feature_negotiation: true }));
      const reply = await conn.readFrame();
      const identify = performance.now() - t;
      if (!reply.text.startsWith("{")) throw new Error(`IDENTIFY answered ${reply.text}`);
      t = performance.now();
      await conn.command("SUB cold_topic cold_channel");
      await conn.expectResponse("OK");
      const sub = performance.now() - t;
      return { ping, identify, sub };
    } finally {
      conn.close();
    }
  } finally {
    proc.signal("SIGTERM");
    const timer = setTimeout(() => proc.signal("SIGKILL"), 10_000);
    await proc.status;
    clearTimeout(timer);
    await Deno.remove(dataPath, { recursive: true }).catch(() => {});
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs: number[], digits: number) =>
  `${median(xs).toFixed(digits)} ms (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

for (const runtime of runtimes) {
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await once(runtime));
  console.log(
    `${runtime.padEnd(4)} ${runs} runs, median (min–max): start → /ping ${fmt(all.map((r) => r.ping), 0)}; ` +
      `first IDENTIFY ${fmt(all.map((r) => r.identify), 2)}; first SUB (creates topic + channel) ${
        fmt(all.map((r) => r.sub), 2)
      }`,
  );
}
