/**
 * Embed an NSQ broker in a Deno or Bun program.
 *
 * @example Start an nsqd on ephemeral ports, publish over TCP, and stop it
 * ```ts
 * import { startNsqd } from "./mod.ts";
 *
 * const nsqd = await startNsqd({ tcpAddress: "127.0.0.1:0", httpAddress: "127.0.0.1:0", logLevel: "warn" });
 * console.log(`nsqd TCP on ${nsqd.tcpAddr?.port}, HTTP on ${nsqd.httpAddr?.port}`);
 * await nsqd.close();
 * ```
 *
 * @module
 */
import { type LogLevelName, parseLogLevel } from "./src/nsqd/logger.ts";
import { Nsqd } from "./src/nsqd/nsqd.ts";
import { defaultNsqdOptions, type NsqdOptions } from "./src/nsqd/options.ts";
import { currentPlatform } from "./src/platform/mod.ts";

export { Nsqd } from "./src/nsqd/nsqd.ts";
export type { NsqdOptions } from "./src/nsqd/options.ts";
export { NSQ_VERSION, RELEASE_VERSION } from "./src/nsqd/version.ts";

/** Options of {@link startNsqd}: any nsqd option (flag names in camelCase, durations in ms). */
export type StartNsqdOptions = Partial<Omit<NsqdOptions, "logLevel">> & { logLevel?: LogLevelName };

/**
 * Starts an nsqd in this process on the running runtime and resolves once it listens.
 *
 * @param options nsqd options; unset ones take nsqd's defaults (TCP 0.0.0.0:4150, HTTP 0.0.0.0:4151).
 * @returns the running broker; `close()` stops it.
 *
 * @example
 * ```ts
 * import { startNsqd } from "./mod.ts";
 *
 * const nsqd = await startNsqd({ tcpAddress: "127.0.0.1:0", httpAddress: "", logLevel: "error" });
 * nsqd.getTopic("events"); // create a topic in-process
 * await nsqd.close();
 * ```
 */
export async function startNsqd(options: StartNsqdOptions = {}): Promise<Nsqd> {
  const platform = await currentPlatform();
  const { logLevel, ...rest } = options;
  const opts: NsqdOptions = { ...defaultNsqdOptions(platform.hostname()), ...rest };
  if (logLevel !== undefined) opts.logLevel = parseLogLevel(logLevel);
  const nsqd = new Nsqd(platform, opts);
  await nsqd.start();
  return nsqd;
}
