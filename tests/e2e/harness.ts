/**
 * The e2e harness: starts nsqd as a child process on Deno, on Bun, or as a compiled binary, learns
 * its ports from the `TCP: listening on …` / `HTTP: listening on …` log lines (as nsq's own tests
 * and client suites do), and talks raw bytes to it.
 *
 * `NSQ_RUNTIMES` (comma list of `deno`, `bun`, `bin`; default `deno,bun`) picks the targets; every
 * test registered with `runtimeTest()` runs once per target.
 */
import assert from "node:assert/strict";

export type Runtime = "deno" | "bun" | "bin";

export const RUNTIMES: Runtime[] = (Deno.env.get("NSQ_RUNTIMES") ?? "deno,bun")
  .split(",")
  .map((s) => s.trim())
  .filter((s) => s !== "") as Runtime[];

const ROOT = new URL("../../", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The Bun binary the tests use: `BUN_BIN`, else the repository's pinned one. */
export function bunBin(): string {
  return Deno.env.get("BUN_BIN") ?? `${ROOT}node_modules/.bin/bun`;
}

/** The daemons, nsqadmin, the tools, and `nsq` itself (the multi-call dispatcher). */
export type ProgramName =
  | "nsqd"
  | "nsqlookupd"
  | "nsqadmin"
  | "nsq_tail"
  | "to_nsq"
  | "nsq_stat"
  | "nsq_to_file"
  | "nsq_to_http"
  | "nsq_to_nsq"
  | "nsq";

/**
 * The command line that runs a program on a runtime: the daemons from their own entry points,
 * the tools as `src/cli/nsq.ts <tool>`; compiled, the link `dist/<program>` (so the name the
 * binary is started as picks the program).
 */
export function commandFor(runtime: Runtime, program: ProgramName): string[] {
  const daemon = program === "nsqd" || program === "nsqlookupd" || program === "nsqadmin";
  const source = daemon
    ? [`${ROOT}src/cli/${program}.ts`]
    : program === "nsq"
    ? [`${ROOT}src/cli/nsq.ts`]
    : [`${ROOT}src/cli/nsq.ts`, program];
  switch (runtime) {
    case "deno":
      return [Deno.execPath(), "run", "-A", ...source];
    case "bun":
      return [bunBin(), ...source];
    case "bin":
      return [`${ROOT}dist/${program}`];
  }
}

/** Starts a program (its stderr lines are collected, as nsqd's). */
export function startApp(runtime: Runtime, program: ProgramName, args: string[]): ChildProcess {
  return new ChildProcess(commandFor(runtime, program), args);
}

/** Runs a program until it exits by itself (killed after `timeoutMs`). */
export async function runApp(
  runtime: Runtime,
  program: ProgramName,
  args: string[],
  timeoutMs = 15_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = startApp(runtime, program, args);
  const timer = setTimeout(() => proc.signal("SIGKILL"), timeoutMs);
  const status = await proc.status;
  clearTimeout(timer);
  return { code: status.code, stdout: proc.stdout, stderr: proc.stderr };
}

/** The runtimes a program can be tested on: `bin` only where `compile.sh` built `dist/<program>`. */
export function runtimesFor(program: ProgramName): Runtime[] {
  return RUNTIMES.filter((r) => {
    if (r !== "bin") return true;
    try {
      return Deno.statSync(`${ROOT}dist/${program}`).isFile;
    } catch {
      return false;
    }
  });
}

/** Registers `fn` as one Deno test per runtime, named `[runtime] name`. */
export function runtimeTest(name: string, fn: (runtime: Runtime) => Promise<void>, timeoutMs = 30_000): void {
  for (const runtime of RUNTIMES) {
    Deno.test({
      name: `[${runtime}] ${name}`,
      sanitizeOps: false,
      sanitizeResources: false,
      fn: () => withTimeout(fn(runtime), timeoutMs, name),
    });
  }
}

/** Runs `fn` against a fresh nsqd on `runtime`, and stops it afterwards whatever happens. */
export async function withNsqd(
  runtime: Runtime,
  args: string[],
  fn: (nsqd: NsqdProcess) => Promise<void>,
): Promise<void> {
  const nsqd = await startNsqd(runtime, args);
  try {
    await fn(nsqd);
  } finally {
    await nsqd.stop();
  }
}

export interface StartOptions {
  /** Leave out the default `--tcp-address=127.0.0.1:0 --http-address=127.0.0.1:0`. */
  noDefaultAddresses?: boolean;
  /** Wait for the HTTP line too (default true unless `--http-address=` is among the args). */
  waitHttp?: boolean;
}

/** Starts nsqd and waits for its listening lines. */
export async function startNsqd(
  runtime: Runtime,
  args: string[] = [],
  opts: StartOptions = {},
): Promise<NsqdProcess> {
  const dataPath = await Deno.makeTempDir({ prefix: "nsqd-e2e-" });
  const base = opts.noDefaultAddresses ? [] : ["--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0"];
  const hasDataPath = args.some((a) => a.replace(/^--?/, "").startsWith("data-path"));
  const all = [...base, ...(hasDataPath ? [] : [`--data-path=${dataPath}`]), ...args];
  const proc = new ChildProcess(commandFor(runtime, "nsqd"), all);
  const waitHttp = opts.waitHttp ?? !all.includes("--http-address=");
  try {
    const tcp = await proc.waitForLine(/TCP: listening on (.+):(\d+)$/, 15_000);
    const http = waitHttp ? await proc.waitForLine(/HTTP: listening on (.+):(\d+)$/, 15_000) : null;
    return new NsqdProcess(proc, Number(tcp[2]), http ? Number(http[2]) : 0, dataPath);
  } catch (err) {
    await proc.kill();
    throw new Error(`nsqd did not start: ${(err as Error).message}\n${proc.stderr}`);
  }
}

/** A child process whose stderr lines are collected and can be waited for. */
/**
 * With `NSQ_TEST_LOG_DIR` set (`deno task ok` sets it), every child's output is kept there, and the secrets
 * tests hand to nsqd are listed in its `secrets.txt`: `tests/logs_have_no_secrets.ts` then checks that
 * no log of the whole suite contains one (issue 21).
 */
const LOG_DIR = Deno.env.get("NSQ_TEST_LOG_DIR");

function keepLog(cmd: string[], pid: number, stderr: readonly string[], stdout: string): void {
  if (LOG_DIR === undefined) return;
  try {
    Deno.mkdirSync(LOG_DIR, { recursive: true });
    const name = cmd.map((c) => c.split("/").pop()).join("_").replace(/[^\w.-]+/g, "_").slice(0, 60);
    Deno.writeTextFileSync(`${LOG_DIR}/${name}-${pid}.log`, `${stderr.join("\n")}\n${stdout}`);
  } catch { /* best effort: the check reports a missing directory */ }
}

/** Marks `secret` as one that must never appear in a log (see `keepLog`); returns it. */
export function testSecret(secret: string): string {
  if (LOG_DIR !== undefined) {
    Deno.mkdirSync(LOG_DIR, { recursive: true });
    Deno.writeTextFileSync(`${LOG_DIR}/secrets.txt`, `${secret}\n`, { append: true });
  }
  return secret;
}

export class ChildProcess {
  readonly #child: Deno.ChildProcess;
  readonly #lines: string[] = [];
  #waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  stdout = "";

  constructor(cmd: string[], args: string[]) {
    this.#child = new Deno.Command(cmd[0], {
      args: [...cmd.slice(1), ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const err = this.#pump(this.#child.stderr, (line) => this.#onLine(line));
    const out = this.#pump(this.#child.stdout, (line) => {
      this.stdout += line + "\n";
    });
    // Resolves once the process exited AND its output was read to the end.
    this.status = Promise.all([this.#child.status, err, out]).then(([status]) => {
      keepLog(cmd, this.#child.pid, this.#lines, this.stdout);
      return status;
    });
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** Sends `sig`, then waits for the exit; SIGKILL after 10 s. Returns the exit code. */
  async stop(sig: Deno.Signal = "SIGTERM"): Promise<number> {
    this.signal(sig);
    const timer = setTimeout(() => this.signal("SIGKILL"), 10_000);
    const status = await this.status;
    clearTimeout(timer);
    return status.code;
  }

  /** Every stderr line so far. */
  get stderr(): string {
    return this.#lines.join("\n");
  }

  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Resolves with the first stderr line (past or future) matching `re`. */
  waitForLine(re: RegExp, timeoutMs = 5000): Promise<RegExpMatchArray> {
    for (const line of this.#lines) {
      const m = line.match(re);
      if (m) return Promise.resolve(m);
    }
    const p = new Promise<RegExpMatchArray>((resolve) => this.#waiters.push({ re, resolve }));
    return withTimeout(p, timeoutMs, `waiting for ${re} in:\n${this.stderr}`);
  }

  signal(sig: Deno.Signal): void {
    try {
      this.#child.kill(sig);
    } catch { /* already gone */ }
  }

  async kill(): Promise<void> {
    this.signal("SIGKILL");
    await this.status;
  }

  #onLine(line: string): void {
    this.#lines.push(line);
    this.#waiters = this.#waiters.filter((w) => {
      const m = line.match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
  }

  async #pump(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
    let buf = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          onLine(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      }
    } catch { /* process gone */ }
    if (buf !== "") onLine(buf);
  }
}

/** A running nsqd. */
export class NsqdProcess {
  constructor(
    readonly proc: ChildProcess,
    readonly tcpPort: number,
    readonly httpPort: number,
    readonly dataPath: string,
  ) {}

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** Connects a raw TCP client (magic not sent). */
  connect(): Promise<NsqConn> {
    return NsqConn.connect(this.tcpPort);
  }

  /** Connects and sends the V2 magic. */
  async connectV2(): Promise<NsqConn> {
    const c = await NsqConn.connect(this.tcpPort);
    await c.write("  V2");
    return c;
  }

  /** HTTP request to this nsqd. */
  http(path: string, init?: RequestInit): Promise<Response> {
    return fetch(`${this.httpUrl}${path}`, init);
  }

  /** GET /stats?format=json parsed. */
  async stats(query = ""): Promise<StatsJson> {
    const res = await this.http(`/stats?format=json${query}`);
    assert.equal(res.status, 200);
    return await res.json();
  }

  /** SIGTERM, then wait for exit; SIGKILL after 10 s. Returns the exit code. */
  async stop(sig: Deno.Signal = "SIGTERM"): Promise<number> {
    const code = await this.proc.stop(sig);
    await Deno.remove(this.dataPath, { recursive: true }).catch(() => {});
    return code;
  }
}

// deno-lint-ignore no-explicit-any
export type StatsJson = any;

/** A decoded server frame. */
export interface Frame {
  type: number;
  data: Uint8Array;
  text: string;
}

/** A decoded message frame body. */
export interface NsqMessage {
  timestamp: bigint;
  attempts: number;
  id: string;
  body: Uint8Array;
  text: string;
}

export const FRAME_RESPONSE = 0;
export const FRAME_ERROR = 1;
export const FRAME_MESSAGE = 2;

/** A raw TCP connection with frame-level helpers. */
export class NsqConn {
  readonly #conn: Deno.Conn;
  /** Received bytes not read yet: `#buf[#off..#end)`. */
  #buf = new Uint8Array(0);
  #off = 0;
  #end = 0;
  #eof = false;
  #reading: Promise<void> | null = null;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  static async connect(port: number): Promise<NsqConn> {
    return new NsqConn(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  /** Sends `line\n`, then `[size][body]` when a body is given. */
  command(line: string, body?: string | Uint8Array): Promise<void> {
    return this.write(encodeCommand(line, body));
  }

  closeWrite(): Promise<void> {
    return (this.#conn as Deno.TcpConn).closeWrite();
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }

  /** Reads exactly `n` bytes, or throws on EOF / timeout. */
  async readExactly(n: number, timeoutMs = 5000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered < n) {
      if (this.#eof) throw new Error(`EOF after ${this.buffered} of ${n} bytes`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out reading ${n} bytes (have ${this.buffered})`);
      await withTimeout(this.#fill(), left, `reading ${n} bytes`);
    }
    const out = this.#buf.slice(this.#off, this.#off + n);
    this.#off += n;
    return out;
  }

  /** Reads one frame. */
  async readFrame(timeoutMs = 5000): Promise<Frame> {
    const head = await this.readExactly(8, timeoutMs);
    const view = new DataView(head.buffer);
    const size = view.getUint32(0);
    const type = view.getInt32(4);
    const data = await this.readExactly(size - 4, timeoutMs);
    return { type, data, text: decoder.decode(data) };
  }

  /** Reads frames until one is not a heartbeat (answering none). */
  async readNonHeartbeat(timeoutMs = 5000): Promise<Frame> {
    for (;;) {
      const f = await this.readFrame(timeoutMs);
      if (f.type === FRAME_RESPONSE && f.text === "_heartbeat_") continue;
      return f;
    }
  }

  /** Reads a response frame and checks its text. */
  async expectResponse(text: string, timeoutMs = 5000): Promise<void> {
    const f = await this.readNonHeartbeat(timeoutMs);
    assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, text]);
  }

  /** Reads an error frame and checks its text. */
  async expectError(text: string, timeoutMs = 5000): Promise<void> {
    const f = await this.readNonHeartbeat(timeoutMs);
    assert.deepEqual([f.type, f.text], [FRAME_ERROR, text]);
  }

  /** Reads a message frame. */
  async readMessage(timeoutMs = 5000): Promise<NsqMessage> {
    const f = await this.readNonHeartbeat(timeoutMs);
    assert.equal(f.type, FRAME_MESSAGE, `expected a message, got type ${f.type}: ${f.text}`);
    return decodeMessage(f.data);
  }

  /** Resolves when the server has closed the connection (after reading anything left). */
  async expectClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#eof) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("connection still open");
      await withTimeout(this.#fill(), left, "waiting for close");
    }
  }

  /** Asserts that nothing (but heartbeats) arrives within `ms`. */
  async expectNothing(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      let f: Frame;
      try {
        f = await this.readFrame(left);
      } catch (err) {
        if (/timed out/.test((err as Error).message)) return;
        throw err;
      }
      if (f.type === FRAME_RESPONSE && f.text === "_heartbeat_") continue;
      throw new Error(`expected nothing, got frame type ${f.type}: ${f.text}`);
    }
  }

  get buffered(): number {
    return this.#end - this.#off;
  }

  #fill(): Promise<void> {
    this.#reading ??= (async () => {
      const chunk = new Uint8Array(64 * 1024);
      try {
        const n = await this.#conn.read(chunk);
        if (n === null) this.#eof = true;
        else {
          // Append, moving what is left to the front only when the buffer is full (consumers read
          // many small frames: copying the rest of the buffer for each was quadratic).
          if (this.#end + n > this.#buf.length) {
            const have = this.buffered;
            const next = have + n > this.#buf.length
              ? new Uint8Array(Math.max(2 * this.#buf.length, have + n))
              : this.#buf;
            next.set(this.#buf.subarray(this.#off, this.#end), 0); // (set copies overlapping ranges right)
            this.#buf = next;
            this.#off = 0;
            this.#end = have;
          }
          this.#buf.set(chunk.subarray(0, n), this.#end);
          this.#end += n;
        }
      } catch {
        this.#eof = true;
      } finally {
        this.#reading = null;
      }
    })();
    return this.#reading;
  }

  // ---- protocol helpers -------------------------------------------------------------------------

  async identify(data: Record<string, unknown> = {}): Promise<Frame> {
    await this.command("IDENTIFY", JSON.stringify(data));
    return await this.readNonHeartbeat();
  }

  async sub(topic: string, channel: string): Promise<void> {
    await this.command(`SUB ${topic} ${channel}`);
    await this.expectResponse("OK");
  }

  rdy(n: number): Promise<void> {
    return this.command(`RDY ${n}`);
  }

  async pub(topic: string, body: string | Uint8Array): Promise<void> {
    await this.command(`PUB ${topic}`, body);
    await this.expectResponse("OK");
  }

  async mpub(topic: string, bodies: (string | Uint8Array)[]): Promise<void> {
    await this.write(encodeMpub(topic, bodies));
    await this.expectResponse("OK");
  }

  async dpub(topic: string, deferMs: number, body: string | Uint8Array): Promise<void> {
    await this.command(`DPUB ${topic} ${deferMs}`, body);
    await this.expectResponse("OK");
  }

  fin(id: string): Promise<void> {
    return this.command(`FIN ${id}`);
  }

  req(id: string, ms: number): Promise<void> {
    return this.command(`REQ ${id} ${ms}`);
  }

  touch(id: string): Promise<void> {
    return this.command(`TOUCH ${id}`);
  }
}

export function int32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
}

export function concat(...parts: (string | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((p) => (typeof p === "string" ? encoder.encode(p) : p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of bytes) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

export function encodeCommand(line: string, body?: string | Uint8Array): Uint8Array {
  if (body === undefined) return encoder.encode(line + "\n");
  const b = typeof body === "string" ? encoder.encode(body) : body;
  return concat(line + "\n", int32(b.length), b);
}

export function encodeMpub(topic: string, bodies: (string | Uint8Array)[]): Uint8Array {
  const parts = bodies.map((b) => (typeof b === "string" ? encoder.encode(b) : b));
  const inner = concat(int32(parts.length), ...parts.flatMap((p) => [int32(p.length), p]));
  return concat(`MPUB ${topic}\n`, int32(inner.length), inner);
}

export function decodeMessage(data: Uint8Array): NsqMessage {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const body = data.slice(26);
  return {
    timestamp: view.getBigInt64(0),
    attempts: view.getUint16(8),
    id: decoder.decode(data.subarray(10, 26)),
    body,
    text: decoder.decode(body),
  };
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 5000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// ---- nsqlookupd -----------------------------------------------------------------------------------

/** A running nsqlookupd. */
export class NsqlookupdProcess {
  constructor(readonly proc: ChildProcess, readonly tcpPort: number, readonly httpPort: number) {}

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** HTTP request to this nsqlookupd. */
  http(path: string, init?: RequestInit): Promise<Response> {
    return fetch(`${this.httpUrl}${path}`, init);
  }

  /** Connects a raw TCP client (magic not sent). */
  connect(): Promise<LookupConn> {
    return LookupConn.connect(this.tcpPort, "");
  }

  /** Connects and sends the V1 magic. */
  connectV1(): Promise<LookupConn> {
    return LookupConn.connect(this.tcpPort, "  V1");
  }

  /** SIGTERM, then wait for exit; SIGKILL after 10 s. Returns the exit code. */
  stop(sig: Deno.Signal = "SIGTERM"): Promise<number> {
    return this.proc.stop(sig);
  }
}

/** Starts nsqlookupd on `runtime` and learns its ports from the `… listening on …` lines. */
export async function startNsqlookupd(
  runtime: Runtime,
  args: string[] = [],
  opts: StartOptions = {},
): Promise<NsqlookupdProcess> {
  const base = opts.noDefaultAddresses ? [] : ["--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0"];
  const proc = new ChildProcess(commandFor(runtime, "nsqlookupd"), [...base, ...args]);
  try {
    const tcp = await proc.waitForLine(/TCP: listening on (.+):(\d+)$/, 15_000);
    const http = await proc.waitForLine(/HTTP: listening on (.+):(\d+)$/, 15_000);
    return new NsqlookupdProcess(proc, Number(tcp[2]), Number(http[2]));
  } catch (err) {
    await proc.kill();
    throw new Error(`nsqlookupd did not start: ${(err as Error).message}\n${proc.stderr}`);
  }
}

/** Runs `fn` against a fresh nsqlookupd on `runtime`, and stops it afterwards whatever happens. */
export async function withNsqlookupd(
  runtime: Runtime,
  args: string[],
  fn: (lookupd: NsqlookupdProcess) => Promise<void>,
): Promise<void> {
  const lookupd = await startNsqlookupd(runtime, args);
  try {
    await fn(lookupd);
  } finally {
    await lookupd.stop();
  }
}

// ---- nsqadmin ------------------------------------------------------------------------------------

/** A running nsqadmin. */
export class NsqadminProcess {
  constructor(readonly proc: ChildProcess, readonly httpPort: number) {}

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** HTTP request to this nsqadmin. */
  http(path: string, init?: RequestInit): Promise<Response> {
    return fetch(`${this.httpUrl}${path}`, init);
  }

  /** SIGTERM, then wait for exit; SIGKILL after 10 s. Returns the exit code. */
  stop(sig: Deno.Signal = "SIGTERM"): Promise<number> {
    return this.proc.stop(sig);
  }
}

/**
 * Starts nsqadmin on `runtime` (with `--http-address=127.0.0.1:0` unless `noDefaultAddresses`) and
 * learns its port from the `HTTP: listening on …` line. `args` must name lookupds or nsqds.
 */
export async function startNsqadmin(
  runtime: Runtime,
  args: string[] = [],
  opts: StartOptions = {},
): Promise<NsqadminProcess> {
  const base = opts.noDefaultAddresses ? [] : ["--http-address=127.0.0.1:0"];
  const proc = new ChildProcess(commandFor(runtime, "nsqadmin"), [...base, ...args]);
  try {
    const http = await proc.waitForLine(/HTTP: listening on (.+):(\d+)$/, 15_000);
    return new NsqadminProcess(proc, Number(http[2]));
  } catch (err) {
    await proc.kill();
    throw new Error(`nsqadmin did not start: ${(err as Error).message}\n${proc.stderr}`);
  }
}

/** What an nsqd sends in IDENTIFY to nsqlookupd (nsq `nsqd/lookup.go`), with overrides. */
export function peerIdentify(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: "1.3.0",
    tcp_port: 4150,
    http_port: 4151,
    hostname: "nsqd-host",
    broadcast_address: "nsqd.example",
    topology_zone: "",
    topology_region: "",
    ...overrides,
  };
}

/**
 * A raw client of nsqlookupd's TCP protocol V1: responses are `[4-byte size][data]`, with no frame
 * type (shared/nsq-reference.md §5.1).
 */
export class LookupConn {
  private constructor(readonly raw: NsqConn) {}

  static async connect(port: number, magic = "  V1"): Promise<LookupConn> {
    const c = new LookupConn(await NsqConn.connect(port));
    if (magic !== "") await c.write(magic);
    return c;
  }

  write(data: string | Uint8Array): Promise<void> {
    return this.raw.write(data);
  }

  /** Sends `line\n`, then `[size][body]` when a body is given. */
  command(line: string, body?: string | Uint8Array): Promise<void> {
    return this.raw.command(line, body);
  }

  /** Reads one response: its bytes after the size. */
  async readResponseBytes(timeoutMs = 5000): Promise<Uint8Array> {
    const head = await this.raw.readExactly(4, timeoutMs);
    const size = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
    return await this.raw.readExactly(size, timeoutMs);
  }

  /** Reads one response as text. */
  async readResponse(timeoutMs = 5000): Promise<string> {
    return decoder.decode(await this.readResponseBytes(timeoutMs));
  }

  async expectResponse(text: string, timeoutMs = 5000): Promise<void> {
    assert.equal(await this.readResponse(timeoutMs), text);
  }

  /** IDENTIFY with `info` (a full nsqd-like body by default); returns lookupd's JSON answer. */
  async identify(info: Record<string, unknown> = peerIdentify()): Promise<Record<string, unknown>> {
    await this.command("IDENTIFY", JSON.stringify(info));
    const text = await this.readResponse();
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`IDENTIFY answered ${text}`);
    }
  }

  async register(topic: string, channel?: string): Promise<void> {
    await this.command(channel === undefined ? `REGISTER ${topic}` : `REGISTER ${topic} ${channel}`);
    await this.expectResponse("OK");
  }

  async unregister(topic: string, channel?: string): Promise<void> {
    await this.command(channel === undefined ? `UNREGISTER ${topic}` : `UNREGISTER ${topic} ${channel}`);
    await this.expectResponse("OK");
  }

  async ping(): Promise<void> {
    await this.command("PING");
    await this.expectResponse("OK");
  }

  /** Resolves when the server has closed the connection (after reading anything left). */
  expectClosed(timeoutMs = 5000): Promise<void> {
    return this.raw.expectClosed(timeoutMs);
  }

  get buffered(): number {
    return this.raw.buffered;
  }

  close(): void {
    this.raw.close();
  }
}

// ---- helpers shared by the HTTP and delivery suites ------------------------------------------------

/** `X-NSQ-Content-Type` of the V1 (JSON) HTTP answers. */
export const NSQ_HEADER = "nsq; version=1.0";
export const JSON_TYPE = "application/json; charset=utf-8";

/** An HTTP answer, its body read. */
export interface Reply {
  status: number;
  text: string;
  headers: Headers;
}

/** A V1 JSON error answer: `{"message": …}` with nsqd's content types. */
export function assertV1Error(r: Reply, status: number, message: string, what = ""): void {
  assert.deepEqual([r.status, r.text], [status, JSON.stringify({ message })], what);
  assert.equal(r.headers.get("content-type"), JSON_TYPE, `content-type ${what}`);
  assert.equal(r.headers.get("x-nsq-content-type"), NSQ_HEADER, `X-NSQ-Content-Type ${what}`);
}

/** Retries `check` until it stops throwing (or `timeoutMs` passes, naming `what`). */
export async function until(
  what: string,
  check: () => Promise<void> | void,
  timeoutMs = 5000,
): Promise<void> {
  await eventually(
    async () => {
      await check();
      return true;
    },
    timeoutMs,
    what,
  );
}

/** A topic of `/stats`, or undefined. */
export async function topicStats(nsqd: NsqdProcess, topic: string): Promise<StatsJson | undefined> {
  const s = await nsqd.stats();
  return (s.topics ?? []).find((t: StatsJson) => t.topic_name === topic);
}

/** A channel of `/stats`, or undefined. */
export async function channelStats(
  nsqd: NsqdProcess,
  topic: string,
  channel: string,
): Promise<StatsJson | undefined> {
  const t = await topicStats(nsqd, topic);
  return t?.channels.find((c: StatsJson) => c.channel_name === channel);
}

/** The next `n` messages of a connection. */
export async function readMessages(c: NsqConn, n: number, timeoutMs = 5000): Promise<NsqMessage[]> {
  const out: NsqMessage[] = [];
  while (out.length < n) out.push(await c.readMessage(timeoutMs));
  return out;
}

/** A consumer subscribed to `topic`/`channel` with RDY `rdy`. */
export async function consumer(
  nsqd: NsqdProcess,
  topic: string,
  channel: string,
  rdy: number,
): Promise<NsqConn> {
  const c = await nsqd.connectV2();
  await c.sub(topic, channel);
  await c.rdy(rdy);
  return c;
}
