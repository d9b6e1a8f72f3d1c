/**
 * The nsqadmin server (nsq `nsqadmin/nsqadmin.go`): checks its options as upstream's `New`, serves
 * the admin API (and, when given, the UI) on the platform's HTTP server, and queues notifications
 * of admin actions. Runtime-specific things come in through the `Platform`.
 */
import { formatListenAddr, parseHostPort } from "../internal/address.ts";
import { Logger } from "../internal/logger.ts";
import { versionString } from "../internal/version.ts";
import type { Listener, NetAddr, Platform } from "../platform/types.ts";
import { AdminActions } from "./actions.ts";
import { ClusterInfo } from "./cluster_info.ts";
import { createAdminHttpApp } from "./http.ts";
import { Notifier } from "./notify.ts";
import { type NsqadminOptions, validateNsqadminOptions } from "./options.ts";

/**
 * One nsqadmin.
 *
 * @example
 * ```ts ignore
 * import { currentPlatform } from "../platform/mod.ts";
 * import { defaultNsqadminOptions } from "./options.ts";
 * const platform = await currentPlatform();
 * const admin = new Nsqadmin(platform, {
 *   ...defaultNsqadminOptions(),
 *   httpAddress: "127.0.0.1:0",
 *   nsqlookupdHttpAddresses: ["127.0.0.1:4161"],
 * });
 * await admin.start();
 * console.log(admin.httpAddr);
 * await admin.close();
 * ```
 */
export class Nsqadmin {
  readonly platform: Platform;
  /** The options; `PUT /config/…` changes `nsqlookupdHttpAddresses` and `logLevel` in place. */
  readonly options: NsqadminOptions;
  readonly logger: Logger;
  /** The cleaned `--base-path` ("" for the root). */
  readonly basePath: string;
  readonly cluster: ClusterInfo;
  readonly actions: AdminActions;
  /** Null without `--notification-http-endpoint`. */
  readonly notifier: Notifier | null;
  #listener: Listener | null = null;
  #started = false;
  #exiting = false;

  /** Throws a RangeError with upstream's text when the options are refused. */
  constructor(
    platform: Platform,
    options: NsqadminOptions,
    extra: { logWrite?: (line: string) => void } = {},
  ) {
    this.platform = platform;
    this.options = { ...options };
    this.logger = new Logger(
      extra.logWrite ?? ((line) => platform.writeStderr(line)),
      options.logPrefix,
      options.logLevel,
    );
    this.basePath = validateNsqadminOptions(this.options);
    this.cluster = new ClusterInfo({
      requestTimeout: options.httpClientRequestTimeout,
      authToken: options.httpClientAuthToken,
    });
    this.actions = new AdminActions(this.cluster);
    this.notifier = options.notificationHttpEndpoint === ""
      ? null
      : new Notifier(options.notificationHttpEndpoint, this.logger, options.httpClientRequestTimeout);
  }

  /** The bound HTTP address (after `start()`). */
  get httpAddr(): NetAddr | null {
    return this.#listener?.addr ?? null;
  }

  /** Binds the HTTP listener and starts serving. */
  async start(): Promise<void> {
    if (this.#started) throw new Error("nsqadmin already started");
    this.#started = true;
    this.logger.info(versionString("nsqadmin", this.platform));
    const app = createAdminHttpApp(this);
    let addr: NetAddr;
    try {
      addr = parseHostPort(this.options.httpAddress);
      this.#listener = await this.platform.serve(addr, (req, info) => app.fetch(req, info));
    } catch (err) {
      throw new Error(`listen (${this.options.httpAddress}) failed - ${(err as Error).message}`);
    }
    this.logger.info(`HTTP: listening on ${formatListenAddr(this.#listener.addr)}`);
  }

  /** Stops listening; queued notifications are still sent. */
  async close(): Promise<void> {
    if (this.#exiting) return;
    this.#exiting = true;
    if (this.#listener !== null) {
      await this.#listener.close();
      this.logger.info(`HTTP: closing ${formatListenAddr(this.#listener.addr)}`);
    }
    await this.notifier?.flush();
  }
}
