/**
 * Versions and the identity strings built from them (upstream `internal/version/binary.go`).
 *
 * Two forms, on purpose:
 * - Machine-read JSON `version` fields (`/info`, `/stats`, IDENTIFY responses, the IDENTIFY nsqd sends
 *   to nsqlookupd and so nsqlookupd's producers, `nsqd.dat`) carry {@link NSQ_VERSION} alone, exactly
 *   as upstream: nsqadmin and other tools compare them as semver, where any pre-release suffix would
 *   sort *below* 1.3.0 (and build metadata `+…` is not part of upstream's form).
 * - The lines a person or a test harness reads (`--version`, the startup log line, the `/stats` text
 *   page) and the `User-Agent` nsqd sends carry {@link BINARY_VERSION}, `1.3.0-ts0.1.0`: upstream's
 *   `<app> v<X.Y.Z>[-suffix] (built w/<toolchain>)` shape (upstream itself shipped `1.0.0-compat`),
 *   so harnesses that parse it still find the NSQ release, with this implementation's release in the
 *   suffix and the runtime in the toolchain part.
 */

/** The NSQ release whose behaviour we implement; reported to clients in /info, /stats and IDENTIFY. */
export const NSQ_VERSION = "1.3.0";

/** This implementation's release (`/info` `server_version`, and the suffix of {@link BINARY_VERSION}). */
export const RELEASE_VERSION = "0.1.0";

/** Upstream's `version.Binary` with our release as suffix: `1.3.0-ts0.1.0`. */
export const BINARY_VERSION = `${NSQ_VERSION}-ts${RELEASE_VERSION}`;

/** The runtime an app runs on, as the platform reports it. */
export interface RuntimeInfo {
  /** `deno` or `bun`. */
  name: string;
  /** The runtime's version, e.g. `2.9.6`. */
  version: string;
}

/**
 * The toolchain part of the version line, like Go's `runtime.Version()` (`go1.19.8`): the runtime's
 * name and version run together, lowercase, with anything but letters, digits, dots and dashes
 * (e.g. a canary build's `+sha`) turned into `-`, so parsers of upstream's line accept it.
 *
 * @example
 * ```ts
 * import { builtWith } from "./version.ts";
 * builtWith({ name: "deno", version: "2.9.6" }); // "deno2.9.6"
 * ```
 */
export function builtWith(runtime: RuntimeInfo): string {
  return `${runtime.name}${runtime.version}`.toLowerCase().replace(/[^a-z0-9.-]/g, "-");
}

/**
 * Upstream's `version.String(app)`: the line `--version` prints and the app logs at startup.
 *
 * @example
 * ```ts
 * import { versionString } from "./version.ts";
 * versionString("nsqd", { name: "deno", version: "2.9.6" }); // "nsqd v1.3.0-ts0.1.0 (built w/deno2.9.6)"
 * ```
 */
export function versionString(app: string, runtime: RuntimeInfo): string {
  return `${app} v${BINARY_VERSION} (built w/${builtWith(runtime)})`;
}

/**
 * The `User-Agent` of the HTTP requests an app makes (nsqd: auth queries, nsqlookupd `/channels`):
 * the `product/version` form, `nsqd/1.3.0-ts0.1.0`. Upstream nsqd sends Go's default
 * (`Go-http-client/1.1`); ours names the app instead of the runtime's HTTP client.
 */
export function userAgent(app: string): string {
  return `${app}/${BINARY_VERSION}`;
}
