/**
 * HTTP publishing (issue 20): `deno run -A bench/http_pub.ts [--seconds=5] [--runtimes=deno,bun,bin]
 * [--procs=1] [--clients=http,raw]`.
 *
 * Against a fresh nsqd per scenario (`--mem-queue-size=1000000`, one channel on the topic, as
 * bench/run.ts): POST /pub with 100-byte bodies over 32 keep-alive connections, and POST /mpub of 100
 * × 100-byte messages over 8. The load comes from bench/clients/http_pub.mjs under Node (its `http`
 * module with a keep-alive agent, one request outstanding per connection; `raw`: the same requests
 * prebuilt and written on keep-alive sockets, responses framed by Content-Length, for a fraction of the
 * CPU), in `--procs` child processes that share the connections. Prints req/s, msg/s, and the CPU both sides used (of the
 * 2 cores: a generator well under a core while nsqd uses the rest is not the bottleneck).
 */
import { type NsqdProcess, type Runtime, RUNTIMES, startNsqd } from "../tests/e2e/harness.ts";
import { cpuSeconds } from "./process.ts";
import { createChannel } from "./load.ts";

const args = new Map(Deno.args.map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const seconds = Number(args.get("seconds") ?? 5);
const procs = Number(args.get("procs") ?? 1);
const clients = args.get("clients")?.split(",") ?? ["http", "raw"];
const runtimes = (args.get("runtimes")?.split(",") ?? RUNTIMES) as Runtime[];
const script = new URL("./clients/http_pub.mjs", import.meta.url).pathname;

interface GenResult {
  requests: number;
  messages: number;
  seconds: number;
  errors: number;
  cpuSeconds: number;
}

async function generate(
  nsqd: NsqdProcess,
  mode: "pub" | "mpub",
  conns: number,
  client: string,
): Promise<GenResult[]> {
  const per = Math.ceil(conns / procs);
  const children = Array.from({ length: procs }, () =>
    new Deno.Command("node", {
      args: [script, nsqd.httpUrl, mode, String(per), String(seconds), client],
      stdout: "piped",
      stderr: "inherit",
    }).output());
  return (await Promise.all(children)).map((o) => JSON.parse(new TextDecoder().decode(o.stdout)));
}

const rows: string[] = [];
for (const runtime of runtimes) {
  for (
    const [mode, conns, client] of [["pub", 32], ["mpub", 8]].flatMap(([m, c]) =>
      clients.map((k) => [m, c, k])
    ) as [
      "pub" | "mpub",
      number,
      string,
    ][]
  ) {
    const nsqd = await startNsqd(runtime, ["--mem-queue-size=1000000"]);
    try {
      await createChannel(nsqd.tcpPort, "http_bench", "ch");
      const cpu0 = cpuSeconds(nsqd.proc.pid);
      const t0 = performance.now();
      const results = await generate(nsqd, mode, conns, client);
      const wall = (performance.now() - t0) / 1000;
      const nsqdCpu = (cpuSeconds(nsqd.proc.pid)) - cpu0;
      const secs = Math.max(...results.map((r) => r.seconds));
      const reqs = results.reduce((n, r) => n + r.requests, 0);
      const msgs = results.reduce((n, r) => n + r.messages, 0);
      const errors = results.reduce((n, r) => n + r.errors, 0);
      const genCpu = results.reduce((n, r) => n + r.cpuSeconds, 0);
      const row = `${runtime.padEnd(4)} ${mode.padEnd(4)} ×${String(conns).padEnd(2)} ${client.padEnd(4)} ` +
        `${(reqs / secs).toFixed(0).padStart(7)} req/s ${(msgs / secs).toFixed(0).padStart(8)} msg/s ` +
        `${errors} errors; CPU: nsqd ${(nsqdCpu / wall * 100).toFixed(0)} %, generator ${
          (genCpu / secs * 100).toFixed(0)
        } % of a core`;
      console.log(row);
      rows.push(row);
    } finally {
      await nsqd.stop();
    }
  }
}
