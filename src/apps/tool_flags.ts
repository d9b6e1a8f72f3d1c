/**
 * What nsq_to_file, nsq_to_http and nsq_to_nsq share (shared/nsq-reference.md §10.1): the address
 * flags, `--consumer-opt` / `--producer-opt` (go-nsq's `ConfigFlag`: `key,value` → `Config.Set`,
 * mapped onto the client's camelCase options), Go `log` lines, and the entry point that parses the
 * flags (usage + exit 2 on a flag error, `log.Fatal` + exit 1 on a bad value), starts the tool and
 * stops it gracefully on SIGINT/SIGTERM (exit 0).
 *
 * Named apart from the shared module of the other tools (nsq_tail, to_nsq, nsq_stat) on purpose:
 * the two are unified at merge.
 */
import type { ClientConfig } from "../client/config.ts";
import { resolveClientConfig } from "../client/config.ts";
import { BINARY_VERSION, versionString } from "../nsqd/version.ts";
import type { Platform } from "../platform/types.ts";
import { parseDuration as goParseDuration } from "../protocol/go_duration.ts";
import {
  FlagError,
  type FlagSpec,
  HelpRequested,
  type ParsedFlags,
  parseFlags,
  usage,
} from "../cli/flags.ts";

/** `--nsqd-tcp-address` and `--lookupd-http-address` (repeatable). */
export function addressFlagSpecs(): FlagSpec[] {
  return [
    {
      name: "nsqd-tcp-address",
      kind: "strings",
      default: [],
      usage: "nsqd TCP address (may be given multiple times)",
    },
    {
      name: "lookupd-http-address",
      kind: "strings",
      default: [],
      usage: "lookupd HTTP address (may be given multiple times)",
    },
  ];
}

/** Where a consumer connects: exactly one of the two lists is non-empty (checked by {@link checkAddresses}). */
export interface SourceAddresses {
  nsqdTcpAddresses: string[];
  lookupdHttpAddresses: string[];
}

/**
 * Upstream's check of the source addresses.
 * @throws {ToolConfigError} none or both given
 */
export function checkAddresses(a: SourceAddresses): void {
  if (a.nsqdTcpAddresses.length === 0 && a.lookupdHttpAddresses.length === 0) {
    throw new ToolConfigError("--nsqd-tcp-address or --lookupd-http-address required");
  }
  if (a.nsqdTcpAddresses.length > 0 && a.lookupdHttpAddresses.length > 0) {
    throw new ToolConfigError("use --nsqd-tcp-address or --lookupd-http-address not both");
  }
}

/** A value the tool refuses after parsing: Go's `log.Fatal` line, exit 1. */
export class ToolConfigError extends Error {
  override name = "ToolConfigError";
}

// ---- --consumer-opt / --producer-opt ------------------------------------------------------------

type Coerce = "duration" | "int" | "float" | "bool" | "string";

/** go-nsq's option names → the client's option and how go-nsq coerces a string value. */
const GO_NSQ_OPTIONS: Record<string, [keyof ClientConfig, Coerce]> = {
  dial_timeout: ["dialTimeout", "duration"],
  read_timeout: ["readTimeout", "duration"],
  write_timeout: ["writeTimeout", "duration"],
  lookupd_poll_interval: ["lookupdPollInterval", "duration"],
  lookupd_poll_jitter: ["lookupdPollJitter", "float"],
  lookupd_poll_timeout: ["lookupdPollTimeout", "duration"],
  max_requeue_delay: ["maxRequeueDelay", "duration"],
  default_requeue_delay: ["defaultRequeueDelay", "duration"],
  backoff_strategy: ["backoffStrategy", "string"],
  max_backoff_duration: ["maxBackoffDuration", "duration"],
  backoff_multiplier: ["backoffMultiplier", "duration"],
  max_attempts: ["maxAttempts", "int"],
  low_rdy_idle_timeout: ["lowRdyIdleTimeout", "duration"],
  low_rdy_timeout: ["lowRdyTimeout", "duration"],
  rdy_redistribute_interval: ["rdyRedistributeInterval", "duration"],
  client_id: ["clientId", "string"],
  hostname: ["hostname", "string"],
  user_agent: ["userAgent", "string"],
  heartbeat_interval: ["heartbeatInterval", "duration"],
  sample_rate: ["sampleRate", "int"],
  tls_v1: ["tlsV1", "bool"],
  deflate: ["deflate", "bool"],
  deflate_level: ["deflateLevel", "int"],
  snappy: ["snappy", "bool"],
  output_buffer_size: ["outputBufferSize", "int"],
  output_buffer_timeout: ["outputBufferTimeout", "duration"],
  max_in_flight: ["maxInFlight", "int"],
  msg_timeout: ["msgTimeout", "duration"],
  auth_secret: ["authSecret", "string"],
};

/** go-nsq options this client does not have (yet): refused with a clear message rather than ignored. */
const UNSUPPORTED = new Set([
  "local_addr",
  "tls_config",
  "tls_root_ca_file",
  "tls_insecure_skip_verify",
  "tls_cert",
  "tls_key",
  "tls_min_version",
  "skip_lookupd_authorization",
  "topology_region",
  "topology_zone",
  "max_msg_size",
]);

/**
 * go-nsq's `ConfigFlag.Set` + `Config.Set` for each `key,value` (split on the first comma; a key
 * alone means `true`), giving the client's options. A duration needs its unit (`5s`), as in go-nsq.
 * @param values the flag's occurrences, in order (later ones win)
 * @param flag `consumer-opt` or `producer-opt`, for the error text
 * @throws {FlagError} `invalid value "<v>" for flag -<flag>: <reason>` (Go flag's text, exit 2)
 */
export function parseClientOpts(values: readonly string[], flag: string): Partial<ClientConfig> {
  const out: Partial<ClientConfig> = {};
  for (const text of values) {
    const fail = (reason: string) => new FlagError(`invalid value "${text}" for flag -${flag}: ${reason}`);
    const comma = text.indexOf(",");
    const name = (comma < 0 ? text : text.slice(0, comma)).replaceAll("-", "_");
    const raw = comma < 0 ? "true" : text.slice(comma + 1);
    if (UNSUPPORTED.has(name)) throw fail(`option ${name} is not supported by this client`);
    const known = GO_NSQ_OPTIONS[name];
    if (known === undefined) throw fail(`invalid option ${name}`);
    const [key, coerce] = known;
    let value: unknown;
    const coerceFail = (err: string) => fail(`failed to coerce option ${name} (${raw}) - ${err}`);
    switch (coerce) {
      case "duration":
        try {
          value = goParseDuration(raw) / 1e6;
        } catch (err) {
          throw coerceFail((err as Error).message);
        }
        break;
      case "int":
        if (!/^[+-]?\d+$/.test(raw)) throw coerceFail(`strconv.ParseInt: parsing "${raw}": invalid syntax`);
        value = Number(raw);
        break;
      case "float":
        value = Number(raw);
        if (raw.trim() === "" || !Number.isFinite(value)) {
          throw coerceFail(`strconv.ParseFloat: parsing "${raw}": invalid syntax`);
        }
        break;
      case "bool": {
        const b = parseGoBool(raw);
        if (b === undefined) throw coerceFail(`strconv.ParseBool: parsing "${raw}": invalid syntax`);
        value = b;
        break;
      }
      case "string":
        value = key === "backoffStrategy" && raw === "" ? "exponential" : raw;
        break;
    }
    try {
      resolveClientConfig({ [key]: value }, "localhost");
    } catch (err) {
      throw fail((err as Error).message);
    }
    (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

/**
 * The `User-Agent` (IDENTIFY) of a tool, as upstream's `<app>/<version> go-nsq/<version>`.
 * @example
 * ```ts
 * import { toolUserAgent } from "./tool_flags.ts";
 * toolUserAgent("nsq_to_file"); // "nsq_to_file/1.3.0-ts0.1.0 nsq-ts"
 * ```
 */
export function toolUserAgent(app: string): string {
  return `${app}/${BINARY_VERSION} nsq-ts`;
}

// ---- Go log ------------------------------------------------------------------------------------

/** Go `log`'s default timestamp: `2006/01/02 15:04:05` (local time). */
export function goLogDate(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${
    p(d.getMinutes())
  }:${p(d.getSeconds())}`;
}

/** `log.Printf`: one line on standard error. */
export function goLog(platform: Platform, msg: string): void {
  platform.writeStderr(`${goLogDate()} ${msg}\n`);
}

// ---- the entry point ---------------------------------------------------------------------------

/** A running tool. */
export interface Tool {
  /** Connects; rejects (FATAL, exit 1) when it cannot start. */
  start(): Promise<void>;
  /** Graceful stop: nothing more is taken, everything taken is answered (and written). */
  stop(): Promise<void>;
}

/** One tool: its flags, how they become options, and what it runs. */
export interface ToolProgram<O> {
  /** `nsq_to_file`, `nsq_to_http`, `nsq_to_nsq`. */
  readonly name: string;
  /** Its flags (Go syntax). */
  specs(): FlagSpec[];
  /**
   * Flags → options.
   * @throws {ToolConfigError} a value upstream refuses with `log.Fatal`
   */
  options(parsed: ParsedFlags, platform: Platform): O;
  /** The tool for these options (not started). */
  create(platform: Platform, options: O): Tool;
}

/**
 * Runs a tool as upstream's `main()`: flag errors → message + usage, exit 2; `-h` → usage, exit 0;
 * `--version` → `<app> v1.3.0…`, exit 0; a refused value or a failed start → `log.Fatal`, exit 1;
 * SIGINT/SIGTERM → graceful stop, exit 0.
 */
export async function runTool<O>(
  platform: Platform,
  program: ToolProgram<O>,
  argv = platform.args,
): Promise<void> {
  const specs = program.specs();
  let parsed: ParsedFlags;
  try {
    parsed = parseFlags(specs, [...argv]);
  } catch (err) {
    if (err instanceof HelpRequested) {
      platform.writeStderr(usage(program.name, specs));
      return platform.exit(0);
    }
    if (err instanceof FlagError) {
      platform.writeStderr(`${err.message}\n${usage(program.name, specs)}`);
      return platform.exit(2);
    }
    throw err;
  }
  if (parsed.values.get("version")) {
    console.log(versionString(program.name, platform));
    return platform.exit(0);
  }
  let options: O;
  try {
    options = program.options(parsed, platform);
  } catch (err) {
    if (err instanceof FlagError) {
      platform.writeStderr(`${err.message}\n${usage(program.name, specs)}`);
      return platform.exit(2);
    }
    goLog(platform, (err as Error).message);
    return platform.exit(1);
  }
  const tool = program.create(platform, options);
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= tool.stop().then(() => platform.exit(0), (err) => {
      goLog(platform, `stop failed: ${(err as Error).message}`);
      platform.exit(1);
    });
  };
  platform.onSignal("SIGINT", stop);
  platform.onSignal("SIGTERM", stop);
  try {
    await tool.start();
  } catch (err) {
    goLog(platform, (err as Error).message);
    return platform.exit(1);
  }
}

/** Positional arguments are refused (`unknown arguments: …`). */
export function refuseArgs(parsed: ParsedFlags): void {
  if (parsed.args.length > 0) throw new ToolConfigError(`unknown arguments: ${parsed.args.join(" ")}`);
}
