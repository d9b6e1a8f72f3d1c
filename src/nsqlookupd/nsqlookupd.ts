/**
 * The nsqlookupd daemon (nsq `nsqlookupd/nsqlookupd.go`): the registration DB, the TCP listener
 * nsqds register with, and the HTTP listener consumers and nsqadmin query. Everything
 * runtime-specific comes in through the `Platform`, so several daemons can share one process.
 */
import { formatListenAddr, parseHostPort } from "../internal/address.ts";
import { validateHttpAuth } from "../internal/http_auth.ts";
import { Logger } from "../internal/logger.ts";
import { TLS_MIN_VERSIONS } from "../internal/option_specs.ts";
import { NSQ_VERSION, versionString } from "../internal/version.ts";
import { readFileSync } from "node:fs";
import type { Conn, Listener, NetAddr, Platform, TlsServerConfig } from "../platform/types.ts";
import { createLookupHttpApp } from "./http.ts";
import { LookupProtocolV1 } from "./lookup_protocol_v1.ts";
import type { NsqlookupdOptions } from "./options.ts";
import { RegistrationDb } from "./registration_db.ts";

/**
 * One nsqlookupd.
 *
 * @example
 * ```ts ignore
 * import { currentPlatform } from "../platform/mod.ts";
 * import { defaultNsqlookupdOptions } from "./options.ts";
 * const platform = await currentPlatform();
 * const lookupd = new Nsqlookupd(platform, {
 *   ...defaultNsqlookupdOptions(platform.hostname()),
 *   tcpAddress: "127.0.0.1:0",
 *   httpAddress: "127.0.0.1:0",
 * });
 * await lookupd.start();
 * console.log(lookupd.tcpAddr, lookupd.httpAddr);
 * await lookupd.close();
 * ```
 */
export class Nsqlookupd {
  /** The NSQ version reported in IDENTIFY responses and `/info`. */
  readonly version = NSQ_VERSION;
  readonly platform: Platform;
  readonly options: NsqlookupdOptions;
  readonly logger: Logger;
  readonly db = new RegistrationDb();
  /** Unix seconds. */
  readonly startTime = Math.floor(Date.now() / 1000);
  #clients = new Set<LookupProtocolV1>();
  #tcpListener: Listener | null = null;
  #httpListener: Listener | null = null;
  #started = false;
  #exiting = false;

  constructor(platform: Platform, options: NsqlookupdOptions, logWrite?: (line: string) => void) {
    this.platform = platform;
    this.options = options;
    this.logger = new Logger(
      logWrite ?? ((line) => platform.writeStderr(line)),
      options.logPrefix,
      options.logLevel,
    );
  }

  /** The bound TCP address (after `start()`). */
  get tcpAddr(): NetAddr | null {
    return this.#tcpListener?.addr ?? null;
  }

  /** The bound HTTP address (after `start()`). */
  get httpAddr(): NetAddr | null {
    return this.#httpListener?.addr ?? null;
  }

  /** TCP connections open now (identified or not). */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Binds both listeners and starts serving. Throws (after closing what it bound) on failure. */
  async start(): Promise<void> {
    if (this.#started) throw new Error("nsqlookupd already started");
    this.#started = true;
    const o = this.options;
    validateHttpAuth(o.httpAuth, o.httpAuthTokenFile, o.httpAuthOpen);
    if (o.httpAuth === "auth-server" && o.authHttpAddresses.length === 0) {
      throw new RangeError("--http-auth=auth-server needs --auth-http-address");
    }
    if (o.authHttpRequestMethod !== "get" && o.authHttpRequestMethod !== "post") {
      throw new RangeError("--auth-http-request-method must be post or get");
    }
    this.logger.info(versionString("nsqlookupd", this.platform));
    const tls = loadTlsConfig(o);
    try {
      this.#tcpListener = await bind(this.options.tcpAddress, (addr) =>
        this.platform.listen(addr, (conn) => {
          const client = new LookupProtocolV1(this, conn);
          this.#clients.add(client);
          // TLS from the first byte; after this turn, once the platform has wired the connection.
          if (tls !== null) queueMicrotask(() => this.#startTls(conn, tls));
          return client;
        }, { tls: tls !== null }));
      const app = createLookupHttpApp(this);
      const https = tls === null ? undefined : {
        key: tls.key,
        cert: tls.cert,
        minVersion: tls.minVersion,
        onHandshakeError: (remote: string, message: string) =>
          this.logger.error(`HTTPS: TLS handshake with ${remote} failed - ${message}`),
      };
      this.#httpListener = await bind(
        this.options.httpAddress,
        (addr) => this.platform.serve(addr, (req, info) => app.fetch(req, info), https),
      );
    } catch (err) {
      await this.#tcpListener?.close();
      this.#tcpListener = null;
      throw err;
    }
    this.logger.info(`TCP: listening on ${formatListenAddr(this.#tcpListener.addr)}`);
    this.logger.info(`HTTP: listening on ${formatListenAddr(this.#httpListener.addr)}`);
  }

  /** Stops listening and closes every TCP connection (upstream's `Exit`). */
  async close(): Promise<void> {
    if (this.#exiting) return;
    this.#exiting = true;
    if (this.#tcpListener !== null) {
      await this.#tcpListener.close();
      this.logger.info(`TCP: closing ${formatListenAddr(this.#tcpListener.addr)}`);
    }
    for (const client of [...this.#clients]) client.shutdown();
    if (this.#httpListener !== null) {
      await this.#httpListener.close();
      this.logger.info(`HTTP: closing ${formatListenAddr(this.#httpListener.addr)}`);
    }
  }

  #startTls(conn: Conn, tls: TlsServerConfig): void {
    const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
    if (conn.upgradeTls === undefined) {
      conn.destroy();
      return;
    }
    conn.upgradeTls(tls).then(
      (info) => this.logger.info(`TCP: client(${peer}) TLS ${info.version} ${info.cipherSuite}`),
      (err) => {
        this.logger.error(
          `TCP: TLS handshake with ${peer} failed (--tls-min-version=${this.options.tlsMinVersion}) - ${
            (err as Error).message
          }`,
        );
        conn.destroy();
      },
    );
  }

  /** A connection has left its IO loop (called by `LookupProtocolV1`). */
  removeClient(client: LookupProtocolV1): void {
    this.#clients.delete(client);
  }
}

/** `--tls-*`: none without cert and key; files read now (an error stops startup). */
function loadTlsConfig(o: NsqlookupdOptions): TlsServerConfig | null {
  if ((o.tlsCert === "") !== (o.tlsKey === "")) throw new RangeError("--tls-cert and --tls-key go together");
  if (!(o.tlsMinVersion in TLS_MIN_VERSIONS)) {
    throw new RangeError(`--tls-min-version must be tls1.0, tls1.1, tls1.2 or tls1.3`);
  }
  if (o.tlsCert === "") {
    if (o.tlsClientAuthPolicy !== "") throw new RangeError("--tls-client-auth-policy needs --tls-cert");
    return null;
  }
  const policy = o.tlsClientAuthPolicy;
  if (policy !== "" && policy !== "require" && policy !== "require-verify") {
    throw new RangeError("--tls-client-auth-policy must be require or require-verify");
  }
  if (policy === "require-verify" && o.tlsRootCaFile === "") {
    throw new RangeError("--tls-client-auth-policy=require-verify needs --tls-root-ca-file");
  }
  try {
    return {
      cert: readFileSync(o.tlsCert, "utf8"),
      key: readFileSync(o.tlsKey, "utf8"),
      ca: o.tlsRootCaFile === "" ? undefined : readFileSync(o.tlsRootCaFile, "utf8"),
      clientAuth: policy === "" ? "none" : policy,
      minVersion: TLS_MIN_VERSIONS[o.tlsMinVersion],
    };
  } catch (err) {
    throw new Error(`failed to build TLS config - ${(err as Error).message}`);
  }
}

/** Parses `addr` and binds it; errors read like upstream's `listen (<addr>) failed - …`. */
async function bind(addr: string, listen: (addr: NetAddr) => Promise<Listener>): Promise<Listener> {
  try {
    return await listen(parseHostPort(addr));
  } catch (err) {
    throw new Error(`listen (${addr}) failed - ${(err as Error).message}`);
  }
}
