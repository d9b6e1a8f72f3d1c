/**
 * Runs the tools (nsq_tail, to_nsq, nsq_stat, `nsq` itself) as child processes for the e2e tests:
 * to completion (`runTool`) or in the background (`spawnTool`), with stdin given or kept open.
 */
import assert from "node:assert/strict";
import { commandFor, type ProgramName, type Runtime } from "./harness.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** How a tool ended. */
export interface ToolExit {
  code: number;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  elapsedMs: number;
}

/** A tool running in the background. */
export class ToolProcess {
  readonly #child: Deno.ChildProcess;
  readonly #started = performance.now();
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array> | null;
  stdout = "";
  stderr = "";
  readonly done: Promise<ToolExit>;

  constructor(runtime: Runtime, program: ProgramName, args: string[], stdin: "piped" | "null" = "null") {
    const cmd = commandFor(runtime, program);
    this.#child = new Deno.Command(cmd[0], {
      args: [...cmd.slice(1), ...args],
      stdin,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = stdin === "piped" ? this.#child.stdin.getWriter() : null;
    const read = async (s: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
      for await (const c of s) this[into] += decoder.decode(c, { stream: true });
    };
    this.done = Promise.all([
      this.#child.status,
      read(this.#child.stdout, "stdout"),
      read(this.#child.stderr, "stderr"),
    ]).then(([status]) => ({
      code: status.code,
      stdout: this.stdout,
      stderr: this.stderr,
      elapsedMs: performance.now() - this.#started,
    }));
  }

  /** Writes to the tool's stdin. */
  async write(data: string | Uint8Array): Promise<void> {
    await this.#stdin!.write(typeof data === "string" ? encoder.encode(data) : data);
  }

  /** Closes the tool's stdin (EOF). */
  async closeStdin(): Promise<void> {
    await this.#stdin!.close();
  }

  signal(sig: Deno.Signal): void {
    try {
      this.#child.kill(sig);
    } catch { /* gone */ }
  }

  /** Waits until `re` matches what the tool wrote to `stream` so far. */
  async waitFor(re: RegExp, stream: "stdout" | "stderr" = "stderr", timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this[stream])) {
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${re} on ${stream}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits for the exit (SIGKILL after `timeoutMs`). */
  async exit(timeoutMs = 15_000): Promise<ToolExit> {
    const timer = setTimeout(() => this.signal("SIGKILL"), timeoutMs);
    try {
      return await this.done;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Runs a tool to its end with `stdin` (default: none). */
export async function runTool(
  runtime: Runtime,
  program: ProgramName,
  args: string[],
  stdin?: string | Uint8Array,
  timeoutMs = 15_000,
): Promise<ToolExit> {
  const p = new ToolProcess(runtime, program, args, stdin === undefined ? "null" : "piped");
  if (stdin !== undefined) {
    await p.write(stdin);
    await p.closeStdin();
  }
  return await p.exit(timeoutMs);
}

export function describeExit(e: ToolExit): string {
  return `exit ${e.code}\nstdout:\n${e.stdout}\nstderr:\n${e.stderr}`;
}

/** A Go `log.Fatal` line: `2006/01/02 15:04:05 <text>`, and exit 1. */
export function assertLogFatal(e: ToolExit, text: string): void {
  assert.equal(e.code, 1, describeExit(e));
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  assert.match(
    e.stderr,
    new RegExp(`^\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d ${escaped}$`, "m"),
    describeExit(e),
  );
  assert.doesNotMatch(e.stderr, /^\s+at /m, "no stack trace");
}

/** A Go flag error: exit 2, the message, then `Usage of <program>:`. */
export function assertFlagError(e: ToolExit, program: string, message: string): void {
  assert.equal(e.code, 2, describeExit(e));
  assert.ok(e.stderr.startsWith(`${message}\nUsage of ${program}:\n`), describeExit(e));
}

/** Publishes `bodies` over nsqd's HTTP API (one /mpub, newline-separated, or /pub for one). */
export async function httpPublish(httpUrl: string, topic: string, bodies: string[]): Promise<void> {
  const path = bodies.length === 1 ? "pub" : "mpub";
  const res = await fetch(`${httpUrl}/${path}?topic=${topic}`, { method: "POST", body: bodies.join("\n") });
  assert.equal(res.status, 200, await res.text());
}
