/**
 * The client benchmark: `deno run -A bench/client.ts [--seconds=N] [--runtimes=deno,bun]
 * [--nsqd=bun|deno] [--count=N] [--window=N] [--only=pub,batch,mpub,sub] [--no-nsqjs] [--no-raw]`.
 *
 * Each measurement gets a fresh nsqd (on Bun by default: the faster broker, so that the client is
 * the bottleneck) with `--mem-queue-size` above what is queued, and one client in a child process:
 * this package's Producer/Consumer on each of `--runtimes` (bench/clients/nsq_ts.ts), the official
 * `nsqjs` Writer/Reader under `node` (bench/clients/nsqjs.mjs), and, for reference, bench/load.ts's
 * raw-socket generators (under Deno, in this process):
 *   pub    publish() of 100 B with `--window` (1000) in flight, each answer starting the next;
 *          raw: PUB in bursts of 200
 *   batch  the same with `batch: true` (MPUBs of up to 100); nsqjs has no batching
 *   mpub   publishMany() of 200 × 100 B, 4 in flight; raw: MPUB 200 × 100 B, 4 in flight
 *   sub    a Consumer with maxInFlight 2500 and a no-op handler (auto-FIN) draining `--count`
 *          (1 M) messages from a pre-filled channel; nsqjs Reader with maxInFlight 2500 and
 *          `msg.finish()`; raw: RDY 2500 + FIN
 * Prints one table (msg/s) and writes the raw results to bench/results/client-<timestamp>.json.
 */
import { bunBin, type NsqdProcess, startNsqd } from "../tests/e2e/harness.ts";
import { consume, createChannel, type LoadResult, publishMpub, publishPipelined } from "./load.ts";

const args = new Map(Deno.args.map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const seconds = Number(args.get("seconds") ?? 3);
const runtimes = (args.get("runtimes") ?? "deno,bun").split(",") as ("deno" | "bun")[];
const nsqdRuntime = (args.get("nsqd") ?? "bun") as "deno" | "bun";
const count = Number(args.get("count") ?? 1_000_000);
const window = Number(args.get("window") ?? 1000);
const only = args.get("only")?.split(",") ?? ["pub", "batch", "mpub", "sub"];
const clients = [
  ...runtimes,
  ...(args.has("no-nsqjs") ? [] : ["nsqjs"]),
  ...(args.has("no-raw") ? [] : ["raw"]),
];

const ROOT = new URL("../", import.meta.url).pathname;
const mem = [`--mem-queue-size=${Math.max(1_000_000, count * 2)}`];

interface Result {
  messages: number;
  ms: number;
}

async function child(client: string, argv: string[]): Promise<Result> {
  const cmd = client === "deno"
    ? [Deno.execPath(), "run", "-A", `${ROOT}bench/clients/nsq_ts.ts`]
    : client === "bun"
    ? [bunBin(), `${ROOT}bench/clients/nsq_ts.ts`]
    : ["node", `${ROOT}bench/clients/nsqjs.mjs`];
  const out = await new Deno.Command(cmd[0], { args: [...cmd.slice(1), ...argv], stdin: "null" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`${client} ${argv.join(" ")} failed:\n${text}\n${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text.split("\n").pop()!);
}

const fromLoad = (r: LoadResult): Result => ({ messages: r.messages, ms: r.seconds * 1000 });

async function withBroker<T>(fn: (n: NsqdProcess) => Promise<T>): Promise<T> {
  const nsqd = await startNsqd(nsqdRuntime, mem);
  try {
    return await fn(nsqd);
  } finally {
    await nsqd.stop();
  }
}

async function prefill(n: NsqdProcess, topic: string): Promise<void> {
  await createChannel(n.tcpPort, topic, "ch");
  let queued = 0;
  while (queued < count) queued += (await publishMpub(n.tcpPort, { topic, seconds: 0.5 })).messages;
}

async function measure(scenario: string, client: string): Promise<Result | null> {
  const p = String;
  return await withBroker(async (n) => {
    const port = p(n.tcpPort);
    switch (scenario) {
      case "pub":
        if (client === "raw") return fromLoad(await publishPipelined(n.tcpPort, { topic: "t", seconds }));
        return await child(client, ["pub", port, "t", p(seconds), p(window)]);
      case "batch":
        if (client === "raw" || client === "nsqjs") return null;
        return await child(client, ["batch", port, "t", p(seconds), p(window)]);
      case "mpub":
        if (client === "raw") {
          return fromLoad(await publishMpub(n.tcpPort, { topic: "t", seconds, depth: 4 }));
        }
        return await child(client, ["mpub", port, "t", p(seconds), "4"]);
      case "sub":
        await prefill(n, "t");
        if (client === "raw") return fromLoad(await consume(n.tcpPort, { topic: "t", channel: "ch", count }));
        return await child(client, ["sub", port, "t", "ch", p(count), "2500"]);
    }
    return null;
  });
}

const names: Record<string, string> = {
  pub: `publish() 100 B, ${window} in flight`,
  batch: `publish() with batch: true, ${window} in flight`,
  mpub: "publishMany() 200 × 100 B, 4 in flight",
  sub: `Consumer maxInFlight 2500, no-op handler, ${count / 1e6} M msgs`,
};
const rows: { scenario: string; results: Record<string, Result | null> }[] = [];
for (const scenario of only) {
  const results: Record<string, Result | null> = {};
  for (const client of clients) {
    results[client] = await measure(scenario, client);
    const r = results[client];
    console.error(`${scenario} ${client}: ${r ? Math.round(r.messages / r.ms * 1000) : "-"} msg/s`);
  }
  rows.push({ scenario, results });
}

const label: Record<string, string> = {
  deno: `nsq-ts on Deno ${Deno.version.deno}`,
  bun: "nsq-ts on Bun",
  nsqjs: "nsqjs 0.13.0 on Node",
  raw: "raw load.ts (Deno)",
};
const fmt = (r: Result | null) => r ? `${Math.round(r.messages / r.ms).toLocaleString("en-US")} k` : "—";
console.log(
  `\nclient benchmark — nsqd on ${nsqdRuntime}, ${seconds} s per publish scenario, msg/s, ${navigator.hardwareConcurrency} cores`,
);
console.log(`| scenario | ${clients.map((c) => label[c]).join(" | ")} |`);
console.log(`|---|${clients.map(() => "---:").join("|")}|`);
for (const row of rows) {
  console.log(`| ${names[row.scenario]} | ${clients.map((c) => fmt(row.results[c])).join(" | ")} |`);
}
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
const file = new URL(
  `./results/client-${new Date().toISOString().replaceAll(":", "-")}.json`,
  import.meta.url,
);
await Deno.writeTextFile(file, JSON.stringify({ seconds, nsqdRuntime, count, window, rows }, null, 2));
console.log(`\nraw results: ${file.pathname}`);
