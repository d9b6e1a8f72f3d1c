/**
 * `nsq`, the multi-call executable (busybox style): the program is chosen by the name the
 * process was started as (`nsqd`, `nsq_tail`, … — links to the binary), else by the first
 * argument (`nsq nsqd --tcp-address=…`). `nsq` alone or `nsq --help` lists the programs;
 * `nsq --version` prints the version. From source: `deno run -A src/cli/nsq.ts nsq_tail …`,
 * `bun src/cli/nsq.ts …`.
 */
import { versionString } from "../internal/version.ts";
import { currentPlatform } from "../platform/mod.ts";
import type { Platform } from "../platform/types.ts";
import { PROGRAMS } from "./programs.ts";

/** The name a program is started as: the last path element of `argv0`, without `.exe`. */
export function programName(argv0: string): string {
  return argv0.slice(Math.max(argv0.lastIndexOf("/"), argv0.lastIndexOf("\\")) + 1).replace(/\.exe$/i, "");
}

/** `nsq --help`: what the binary is, and the programs. */
export function nsqUsage(): string {
  const width = Math.max(...Object.keys(PROGRAMS).map((n) => n.length));
  const lines = Object.entries(PROGRAMS).map(([n, p]) => `  ${n.padEnd(width)}  ${p.summary}`);
  return `Usage: nsq <program> [flags]   (or run a link named after the program: nsqd [flags])

Programs:
${lines.join("\n")}

nsq <program> --help shows a program's flags; nsq --version prints the version.
`;
}

/** Runs the program chosen by `argv0` or by the first of `args`. */
export async function dispatch(platform: Platform, argv0: string, args: readonly string[]): Promise<void> {
  const byName = programName(argv0);
  if (Object.hasOwn(PROGRAMS, byName)) return (await PROGRAMS[byName].load()).main(platform, args);
  const [first, ...rest] = args;
  if (first !== undefined && Object.hasOwn(PROGRAMS, first)) {
    return (await PROGRAMS[first].load()).main(platform, rest);
  }
  const encoder = new TextEncoder();
  if (first === undefined) {
    platform.writeStderr(nsqUsage());
    return platform.exit(2);
  }
  if (/^--?(h|help)$/.test(first)) {
    await platform.writeStdout(encoder.encode(nsqUsage()));
    return platform.exit(0);
  }
  if (/^--?version$/.test(first)) {
    await platform.writeStdout(encoder.encode(versionString("nsq", platform) + "\n"));
    return platform.exit(0);
  }
  platform.writeStderr(`nsq: unknown program "${first}"\n\n${nsqUsage()}`);
  return platform.exit(2);
}

if (import.meta.main) {
  const platform = await currentPlatform();
  await dispatch(platform, platform.argv0, platform.args);
}
