/**
 * Where nsqd spends its time in a scenario (issue 20): `deno run -A bench/profile.ts [--runtime=deno|bun]
 * [--scenario=publish|consume|mpub] [--seconds=4] [--top=30] [--out=FILE.cpuprofile]`.
 *
 * Starts nsqd (`--mem-queue-size=1000000`, as bench/run.ts) with the engine's sampling profiler and prints
 * the functions with the most samples (self time), engine work such as `(garbage collector)` and native
 * calls (`op_write` on Deno, `write`/`copy` on Bun) included:
 *   publish  MPUB 200 × 100 B on one connection for `--seconds` (bench/load.ts's publishMpub);
 *   consume  the same publish, then one consumer (RDY 2500, FIN each) reads it all back — most of it past
 *            the memory queue, from disk;
 *   mpub     `POST /mpub` of 100 × 100 B over 8 connections for `--seconds` (bench/clients/http_pub.mjs, raw).
 * On Deno the profile covers only the scenario's measured phase (V8's profiler through the inspector,
 * sampling every 200 µs); on Bun (`bun --cpu-prof`, every 1 ms) it covers the whole process, publishing
 * included. `--out` keeps the raw profile (Chrome DevTools and VS Code open it).
 */
import { BenchArgs } from "./args.ts";
import { consume, createChannel, publishMpub } from "./load.ts";
import { freePort } from "./process.ts";

const args = new BenchArgs("bench/profile.ts", ["runtime", "scenario", "seconds", "top", "out"]);
const runtime = args.runtime();
if (runtime === "bin") args.fail("--runtime must be deno or bun (the binary has no profiler to switch on)");
const scenario = args.get("scenario") ?? "consume";
if (!["publish", "consume", "mpub"].includes(scenario)) {
  args.fail("--scenario must be publish, consume or mpub");
}
const seconds = args.number("seconds", 4, { positive: true });
const top = args.number("top", 30, { integer: true, positive: true });

const ROOT = new URL("../", import.meta.url).pathname;
const BIN = `${ROOT}node_modules/.bin`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
}

/** V8's profiler over the inspector's WebSocket. */
class Inspector {
  #ws: WebSocket;
  #id = 0;
  #pending = new Map<number, (result: unknown) => void>();
  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      this.#pending.get(m.id)?.(m.result);
      this.#pending.delete(m.id);
    };
  }

  static async connect(port: number): Promise<Inspector> {
    for (let i = 0; i < 200; i++) {
      try {
        const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
        const ws = new WebSocket(list[0].webSocketDebuggerUrl);
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = reject;
        });
        return new Inspector(ws);
      } catch {
        await sleep(50);
      }
    }
    throw new Error("the inspector did not answer");
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.#id;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.#ws.close();
  }
}

async function waitForPing(httpPort: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/ping`);
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not yet */ }
    await sleep(20);
  }
  throw new Error("nsqd did not start");
}

/** Runs the scenario; `measured` brackets the phase the Deno profile covers. */
async function run(
  tcpPort: number,
  httpPort: number,
  measured: (phase: () => Promise<void>) => Promise<void>,
) {
  if (scenario === "mpub") {
    for (const path of ["/topic/create?topic=http_bench", "/channel/create?topic=http_bench&channel=c"]) {
      await (await fetch(`http://127.0.0.1:${httpPort}${path}`, { method: "POST" })).body?.cancel();
    }
    await measured(async () => {
      const out = await new Deno.Command("node", {
        args: [
          `${ROOT}bench/clients/http_pub.mjs`,
          `http://127.0.0.1:${httpPort}`,
          "mpub",
          "8",
          String(seconds),
          "raw",
        ],
        stdout: "piped",
      }).output();
      const r = JSON.parse(new TextDecoder().decode(out.stdout));
      console.log(`mpub: ${Math.round(r.messages / r.seconds)} msg/s`);
    });
    return;
  }
  await createChannel(tcpPort, "p", "ch");
  if (scenario === "publish") {
    await measured(async () => {
      const pub = await publishMpub(tcpPort, { topic: "p", seconds });
      console.log(`publish: ${Math.round(pub.msgsPerSec)} msg/s`);
    });
    return;
  }
  const pub = await publishMpub(tcpPort, { topic: "p", seconds });
  console.log(`publish: ${Math.round(pub.msgsPerSec)} msg/s (${pub.messages} messages)`);
  await measured(async () => {
    const c = await consume(tcpPort, { topic: "p", channel: "ch", count: pub.messages });
    console.log(`consume: ${Math.round(c.msgsPerSec)} msg/s`);
  });
}

function summarize(profile: CpuProfile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const id of profile.samples) {
    const f = byId.get(id)!.callFrame;
    const where = f.url === ""
      ? ""
      : ` ${f.url.replace(/^.*?\/(src|ext|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;
    const key = `${f.functionName || "(anonymous)"}${where}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  console.log(`\n${total} samples (self time; "(idle)": waiting for I/O)`);
  for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * n) / total).toFixed(1).padStart(5)} %  ${key}`);
  }
}

const tcpPort = freePort();
const httpPort = freePort();
const dataPath = await Deno.makeTempDir({ prefix: "nsqd-profile-" });
const profDir = await Deno.makeTempDir({ prefix: "nsqd-cpuprof-" });
const nsqdArgs = [
  `${ROOT}src/cli/nsqd.ts`,
  "--mem-queue-size=1000000",
  `--tcp-address=127.0.0.1:${tcpPort}`,
  `--http-address=127.0.0.1:${httpPort}`,
  `--data-path=${dataPath}`,
];
const inspectPort = freePort();
const child = new Deno.Command(runtime === "deno" ? `${BIN}/deno` : `${BIN}/bun`, {
  args: runtime === "deno"
    ? ["run", "-A", `--inspect=127.0.0.1:${inspectPort}`, ...nsqdArgs]
    : ["--cpu-prof", `--cpu-prof-dir=${profDir}`, ...nsqdArgs],
  stdout: "null",
  stderr: "null",
}).spawn();
let profile: CpuProfile | undefined;
try {
  await waitForPing(httpPort);
  if (runtime === "deno") {
    const inspector = await Inspector.connect(inspectPort);
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: 200 });
    await run(tcpPort, httpPort, async (phase) => {
      await inspector.send("Profiler.start");
      await phase();
      profile = ((await inspector.send("Profiler.stop")) as { profile: CpuProfile }).profile;
    });
    inspector.close();
  } else {
    await run(tcpPort, httpPort, (phase) => phase());
  }
} finally {
  child.kill("SIGTERM");
  await child.status;
}
if (profile === undefined) {
  const file = [...Deno.readDirSync(profDir)].find((e) => e.name.endsWith(".cpuprofile"));
  if (file === undefined) throw new Error("bun wrote no profile");
  profile = JSON.parse(Deno.readTextFileSync(`${profDir}/${file.name}`)) as CpuProfile;
}
const out = args.get("out");
if (out !== undefined) Deno.writeTextFileSync(out, JSON.stringify(profile));
summarize(profile);
await Deno.remove(dataPath, { recursive: true }).catch(() => {});
await Deno.remove(profDir, { recursive: true }).catch(() => {});
