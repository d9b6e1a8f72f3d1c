/**
 * HTTP API authorization, beyond upstream (nsq issues #1183, #1426: upstream protects only the TCP
 * protocol, so anyone who reaches port 4151 can delete every topic). Opt-in with `--http-auth`;
 * shared by nsqd and nsqlookupd.
 *
 * A request carries `Authorization: Bearer <secret>`. The secret is checked either against the auth
 * server of TCP AUTH (`--http-auth=auth-server`: the same query as AUTH, `remote_ip` and `tls` of the
 * HTTP request; answers cached until their `ttl` runs out) or against a token file
 * (`--http-auth=token-file --http-auth-token-file=<path>`, read at start). Either way the secret maps to
 * upstream's grant shape, `[{"topic":<regex>,"channels":[<regex>…],"permissions":[…]}]`, with one
 * permission more than upstream knows: `admin` (create/delete/empty/pause topics and channels, PUT
 * /config, tombstones; TCP AUTH accepts it and grants nothing for it). Refusals: no or unknown secret → 401 `{"message":"UNAUTHORIZED"}` (with
 * `WWW-Authenticate: Bearer`), a secret without the permission → 403 `{"message":"FORBIDDEN"}`.
 *
 * The token file is JSON in the auth server's answer shape, so one grant model serves both modes and
 * patterns with spaces or `#` need no quoting rules:
 *
 * ```json
 * {"tokens": [
 *   {"token": "pub-secret", "identity": "billing", "authorizations": [
 *     {"topic": "^orders$", "channels": [".*"], "permissions": ["publish"]}]},
 *   {"token_sha256": "<hex sha256 of the secret>", "identity": "ops", "authorizations": [
 *     {"topic": ".*", "channels": [".*"], "permissions": ["admin", "publish", "subscribe"]}]}
 * ]}
 * ```
 *
 * Secrets never reach a log line: failures are logged with the request's method, path and peer only.
 */
import type { Context, MiddlewareHandler } from "hono";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { NetAddr } from "../platform/types.ts";
import { type AuthOptions, type AuthPermission, AuthState, parseAuthResponse, queryAuthd } from "./auth.ts";
import { parseQuery, v1Error } from "./http_api.ts";

/** `--http-auth` values: `""` (off, upstream's behaviour), `auth-server`, `token-file`. */
export type HttpAuthMode = "" | "auth-server" | "token-file";

/** What the HTTP API authorization needs to run. */
export interface HttpAuthConfig {
  /** `--http-auth`. */
  mode: HttpAuthMode;
  /** `--http-auth-token-file` (token-file mode). */
  tokenFile: string;
  /** `--http-auth-open`: paths whose GET needs no secret (e.g. `/ping`, `/info`). */
  openPaths: readonly string[];
  /** The auth server query (auth-server mode): `--auth-http-address` and friends. */
  auth: AuthOptions;
  /** The daemon's name, for `WWW-Authenticate: Bearer realm="…"`. */
  realm: string;
}

/** What one request needs before its handler may run. */
export type HttpAccess =
  /** Any valid secret. */
  | { kind: "authenticated" }
  /** Some grant whose topic pattern matches, whatever its permissions (reading a topic's stats). */
  | { kind: "topic"; topic: string }
  /** A grant with `permission` whose topic and one of whose channel patterns match (channel `""` if none). */
  | { kind: "permission"; permission: AuthPermission; topic: string; channel: string };

const AUTHENTICATED: HttpAccess = { kind: "authenticated" };

/** `--http-auth-open` values: each may be a comma-separated list. */
export function openPathList(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(",")).map((p) => p.trim()).filter((p) => p !== "");
}

/** The options `--http-auth` reads (nsqd's and nsqlookupd's share these names). */
export interface HttpAuthOptions {
  httpAuth: string;
  httpAuthTokenFile: string;
  httpAuthOpen: string[];
  authHttpAddresses: string[];
  authHttpRequestMethod: string;
  httpClientConnectTimeout?: number;
  httpClientRequestTimeout?: number;
}

/** The authorizer the options ask for, or null when `--http-auth` is off. Reads the token file now. */
export function httpAuthorizerFor(o: HttpAuthOptions, realm: string): HttpAuthorizer | null {
  if (o.httpAuth === "") return null;
  return new HttpAuthorizer({
    mode: o.httpAuth as HttpAuthMode,
    tokenFile: o.httpAuthTokenFile,
    openPaths: openPathList(o.httpAuthOpen),
    auth: {
      addresses: o.authHttpAddresses,
      method: o.authHttpRequestMethod === "post" ? "post" : "get",
      connectTimeoutMs: o.httpClientConnectTimeout ?? 2000,
      requestTimeoutMs: o.httpClientRequestTimeout ?? 5000,
    },
    realm,
  });
}

/** Checks `--http-auth*` values; throws a RangeError a user can act on. */
export function validateHttpAuth(mode: string, tokenFile: string, openPaths: readonly string[]): void {
  if (mode !== "" && mode !== "auth-server" && mode !== "token-file") {
    throw new RangeError(`--http-auth must be auth-server or token-file (not ${JSON.stringify(mode)})`);
  }
  if (mode === "token-file" && tokenFile === "") {
    throw new RangeError("--http-auth=token-file needs --http-auth-token-file");
  }
  for (const p of openPathList(openPaths)) {
    if (!p.startsWith("/")) throw new RangeError(`--http-auth-open: ${JSON.stringify(p)} is not a path`);
  }
}

/** The access nsqd's routes need (`params`: the URL query). */
export function nsqdAccess(method: string, path: string, params: Map<string, string[]>): HttpAccess {
  const topic = params.get("topic")?.[0];
  const channel = params.get("channel")?.[0];
  // A missing argument is the handler's 400 (MISSING_ARG_*): nothing happens, a valid secret suffices.
  if (path === "/pub" || path === "/mpub") {
    return topic === undefined
      ? AUTHENTICATED
      : { kind: "permission", permission: "publish", topic, channel: "" };
  }
  if (path === "/stats") {
    return topic === undefined || topic === "" ? AUTHENTICATED : { kind: "topic", topic };
  }
  const admin = topicOrChannelAccess(path, topic, channel);
  if (admin !== undefined) return admin;
  // PUT /config/:opt, /debug/*: changes to the whole daemon — an admin grant that matches "" and "".
  if (method !== "GET" && method !== "HEAD") {
    return { kind: "permission", permission: "admin", topic: "", channel: "" };
  }
  return AUTHENTICATED;
}

/** The access nsqlookupd's routes need. */
export function nsqlookupdAccess(method: string, path: string, params: Map<string, string[]>): HttpAccess {
  const topic = params.get("topic")?.[0];
  const channel = params.get("channel")?.[0];
  if (method === "GET" || method === "HEAD") {
    if ((path === "/lookup" || path === "/channels") && topic !== undefined && topic !== "") {
      return { kind: "topic", topic };
    }
    return AUTHENTICATED;
  }
  return topicOrChannelAccess(path, topic, channel) ??
    { kind: "permission", permission: "admin", topic: "", channel: "" };
}

/**
 * `/topic/*` and `/channel/*` (nsqd's and nsqlookupd's): an admin grant for that topic (and channel);
 * a missing argument is the handler's 400, so a valid secret suffices. Undefined for other paths.
 */
function topicOrChannelAccess(
  path: string,
  topic: string | undefined,
  channel: string | undefined,
): HttpAccess | undefined {
  if (path.startsWith("/topic/")) {
    return topic === undefined
      ? AUTHENTICATED
      : { kind: "permission", permission: "admin", topic, channel: "" };
  }
  if (path.startsWith("/channel/")) {
    return topic === undefined || channel === undefined
      ? AUTHENTICATED
      : { kind: "permission", permission: "admin", topic, channel };
  }
  return undefined;
}

/** Whether `state` allows `access` (a topic name: some grant names the topic). */
export function allows(state: AuthState, access: HttpAccess | string): boolean {
  if (typeof access === "string") return state.authorizations.some((a) => a.topic.test(access));
  switch (access.kind) {
    case "authenticated":
      return true;
    case "topic":
      return state.authorizations.some((a) => a.topic.test(access.topic));
    case "permission":
      return state.isAllowed(access.topic, access.channel, access.permission);
  }
}

/** The grant of the request being served (set by the middleware; absent when `--http-auth` is off). */
const GRANTS = new WeakMap<Request, AuthState>();

/** The grant the request was let in with, or undefined (auth off, or an open path). */
export function requestGrant(req: Request): AuthState | undefined {
  return GRANTS.get(req);
}

/** Too many cached answers (random secrets): the oldest go first. */
const MAX_CACHED = 4096;

/** Checks secrets: against a token file or the auth server (cached until the answer's ttl runs out). */
export class HttpAuthorizer {
  readonly #config: HttpAuthConfig;
  /** sha256(secret) hex → grant (token-file mode). */
  readonly #tokens = new Map<string, AuthState>();
  /** `tls|remote_ip|sha256(secret)` → answer (auth-server mode). */
  readonly #cache = new Map<string, Promise<AuthState>>();
  readonly #now: () => number;

  /** Reads the token file now (token-file mode): a bad file stops startup with a RangeError. */
  constructor(config: HttpAuthConfig, now: () => number = Date.now) {
    this.#config = config;
    this.#now = now;
    if (config.mode === "token-file") {
      for (const [hash, state] of readTokenFile(config.tokenFile)) this.#tokens.set(hash, state);
    }
  }

  /**
   * The grant of `secret`; throws an Error (its message safe to log: no secret) when the secret is
   * unknown or the auth server cannot be asked.
   */
  async grantOf(secret: string, remoteIp: string, tls: boolean): Promise<AuthState> {
    const hash = sha256Hex(secret);
    if (this.#config.mode === "token-file") {
      const state = this.#tokens.get(hash);
      if (state === undefined) throw new Error("unknown token");
      return state;
    }
    const key = `${tls}|${remoteIp}|${hash}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      const state = await cached.catch(() => null);
      if (state !== null && !state.isExpired(this.#now())) return state;
      if (this.#cache.get(key) === cached) this.#cache.delete(key);
    }
    const query = queryAuthd(
      this.#config.auth,
      { remoteIp, tls, secret, commonName: "" },
      { now: this.#now },
    );
    this.#cache.set(key, query);
    if (this.#cache.size > MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!);
    // Failures are not cached: the next request asks again.
    query.catch(() => {
      if (this.#cache.get(key) === query) this.#cache.delete(key);
    });
    return await query;
  }

  /** The Hono middleware: lets a request through to its route only with the access `accessOf` says. */
  middleware(
    accessOf: (method: string, path: string, params: Map<string, string[]>) => HttpAccess,
    logWarn: (line: string) => void,
  ): MiddlewareHandler {
    const { openPaths, realm } = this.#config;
    return async (c: Context, next) => {
      const method = c.req.method;
      const url = new URL(c.req.url);
      const path = url.pathname;
      if ((method === "GET" || method === "HEAD") && openPaths.includes(path)) return await next();
      const peer = (c.env as { remoteAddr?: NetAddr } | undefined)?.remoteAddr;
      const remoteIp = peer?.hostname ?? "";
      const header = c.req.header("authorization") ?? "";
      const m = /^Bearer[ \t]+(\S+)\s*$/i.exec(header);
      if (m === null) return unauthorized(realm);
      let state: AuthState;
      try {
        state = await this.grantOf(m[1], remoteIp, url.protocol === "https:");
      } catch (err) {
        logWarn(`HTTP: auth failed for ${method} ${path} (${remoteIp}) - ${(err as Error).message}`);
        return unauthorized(realm);
      }
      let access: HttpAccess;
      try {
        access = accessOf(method, path, parseQuery(c.req.url));
      } catch {
        access = AUTHENTICATED; // a malformed query is the handler's 400
      }
      if (!allows(state, access)) {
        logWarn(`HTTP: ${JSON.stringify(state.identity)} not allowed ${method} ${path} (${remoteIp})`);
        return v1Error(403, "FORBIDDEN");
      }
      GRANTS.set(c.req.raw, state);
      return await next();
    };
  }
}

function unauthorized(realm: string): Response {
  const res = v1Error(401, "UNAUTHORIZED");
  res.headers.set("WWW-Authenticate", `Bearer realm="${realm}"`);
  return res;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Reads and validates a token file (format: see the module doc). Errors never quote a token. */
export function readTokenFile(path: string): Map<string, AuthState> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new RangeError(`--http-auth-token-file ${path}: ${(err as Error).message}`);
  }
  const fail = (why: string) => new RangeError(`--http-auth-token-file ${path}: ${why}`);
  const tokens = (doc as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(tokens)) throw fail(`expected {"tokens": [...]}`);
  const out = new Map<string, AuthState>();
  tokens.forEach((entry: Record<string, unknown>, i: number) => {
    const where = `tokens[${i}]`;
    if (entry === null || typeof entry !== "object") throw fail(`${where} is not an object`);
    let hash: string;
    if (typeof entry.token === "string" && entry.token !== "") hash = sha256Hex(entry.token);
    else if (typeof entry.token_sha256 === "string" && /^[0-9a-fA-F]{64}$/.test(entry.token_sha256)) {
      hash = entry.token_sha256.toLowerCase();
    } else throw fail(`${where} needs "token" or "token_sha256" (64 hex digits)`);
    if (out.has(hash)) throw fail(`${where} repeats an earlier token`);
    let state: AuthState;
    try {
      // The auth server's answer shape, validated by the same code (patterns, permissions).
      const parsed = parseAuthResponse(
        JSON.stringify({
          ttl: 1,
          identity: entry.identity ?? "",
          identity_url: entry.identity_url ?? "",
          authorizations: entry.authorizations ?? [],
        }),
        0,
      );
      state = new AuthState({ ...parsed, expires: Infinity });
    } catch (err) {
      throw fail(`${where}: ${(err as Error).message}`);
    }
    out.set(hash, state);
  });
  return out;
}
