/**
 * The flags of the bench scripts (`--name=value`, `--name`): unknown flags and bad values end the script with
 * exit code 2 and a line saying why, as the programs do.
 */
import { type Runtime, RUNTIMES } from "../tests/e2e/harness.ts";

const TARGETS: readonly Runtime[] = ["deno", "bun", "bin"];

export class BenchArgs {
  readonly #script: string;
  readonly #args: Map<string, string>;

  /** `script`: the name used in messages (`bench/idle.ts`); `known`: the flags it takes, without dashes. */
  constructor(script: string, known: readonly string[], argv: readonly string[] = Deno.args) {
    this.#script = script;
    this.#args = new Map(argv.map((a) => {
      const [k, ...v] = a.replace(/^--?/, "").split("=");
      return [k, v.join("=")] as [string, string];
    }));
    for (const k of this.#args.keys()) {
      if (!known.includes(k)) {
        this.fail(`unknown flag --${k} (known: ${known.map((f) => `--${f}`).join(" ")})`);
      }
    }
  }

  fail(why: string): never {
    console.error(`${this.#script}: ${why}`);
    Deno.exit(2);
  }

  has(name: string): boolean {
    return this.#args.has(name);
  }

  get(name: string): string | undefined {
    return this.#args.get(name);
  }

  /** A number >= 0 (`integer`: a whole one; `positive`: > 0), or `fallback` when the flag is absent. */
  number(name: string, fallback: number, opts: { integer?: boolean; positive?: boolean } = {}): number {
    const raw = this.#args.get(name);
    if (raw === undefined) return fallback;
    const v = Number(raw);
    const ok = raw !== "" && Number.isFinite(v) && (opts.positive ? v > 0 : v >= 0) &&
      (!opts.integer || Number.isInteger(v));
    if (!ok) {
      this.fail(
        `--${name} must be a ${opts.positive ? "positive" : "non-negative"} ${
          opts.integer ? "integer" : "number"
        }`,
      );
    }
    return v;
  }

  /** `--runtime=deno|bun|bin` (one target). */
  runtime(fallback: Runtime = "deno"): Runtime {
    const r = (this.#args.get("runtime") ?? fallback) as Runtime;
    if (!TARGETS.includes(r)) this.fail("--runtime must be deno, bun or bin");
    return r;
  }

  /** `--runtimes=a,b` (targets in order), default `NSQ_RUNTIMES` or deno,bun. */
  runtimes(fallback: readonly Runtime[] = RUNTIMES): Runtime[] {
    const raw = this.#args.get("runtimes");
    const list = raw === undefined ? [...fallback] : raw.split(",").map((s) => s.trim()) as Runtime[];
    for (const r of list) if (!TARGETS.includes(r)) this.fail("--runtimes takes deno, bun, bin");
    return list;
  }
}
