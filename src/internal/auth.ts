/**
 * nsqd's side of AUTH (nsq `internal/auth/authorizations.go`, `nsqd/client_v2.go` `QueryAuthd`,
 * `internal/http_api/api_request.go`; shared/nsq-reference.md §3.12): asking the auth servers given by
 * `--auth-http-address` what a secret may do, and checking topics/channels against the answer.
 *
 * The request: `GET <endpoint>?common_name=…&remote_ip=…&secret=…&tls=true|false` (Go `url.Values.Encode`:
 * keys sorted, `QueryEscape`d), or with `--auth-http-request-method=post` a `POST <endpoint>` whose body
 * is `json.Marshal(url.Values)` (`{"common_name":[""],"remote_ip":["…"],"secret":["…"],"tls":["false"]}`,
 * `Content-Type: application/json`). Both carry `Accept: application/vnd.nsq; version=1.0` and
 * `User-Agent: nsqd/1.3.0-ts0.1.0` ({@link userAgent}; upstream sends Go's default). The endpoint
 * is the address itself if it contains `://`, else `http://<host:port>/auth`.
 *
 * The answer must be HTTP 200 with `{"ttl":<seconds>,"identity":…,"identity_url":…,"authorizations":
 * [{"topic":<regex>,"channels":[<regex>…],"permissions":["subscribe"|"publish"…]}]}`, decoded as Go's
 * `encoding/json` would (keys case-insensitive, unknown keys ignored, `null` = zero value, wrong types
 * fail). An empty authorization list is a valid answer — the caller turns it into
 * `E_UNAUTHORIZED AUTH no authorizations found` — whereas any failure here throws (→ `E_AUTH_FAILED`).
 *
 * Topic/channel patterns are Go RE2 syntax; {@link re2ToRegExp} translates them to JS RegExp (see its
 * notes for what differs).
 */
import { goQuote } from "../protocol/go_format.ts";
import { goJson } from "../protocol/go_json.ts";
import { userAgent } from "./version.ts";

/** The `--auth-http-*` / `--http-client-*` options that drive a query. */
export interface AuthOptions {
  /** `--auth-http-address` values: `host:port` → `http://host:port/auth`; anything containing `://` is used as-is. */
  addresses: string[];
  /** `--auth-http-request-method`. */
  method: "get" | "post";
  /**
   * `--http-client-connect-timeout`. `fetch` cannot bound the TCP connect on its own, so this is only
   * approximated: the whole request (connect included) is bounded by `requestTimeoutMs`, which is also
   * upstream's outer bound (`http.Client.Timeout`). A black-holed address therefore fails after
   * `requestTimeoutMs` rather than after the (usually shorter) connect timeout.
   */
  connectTimeoutMs: number;
  /** `--http-client-request-timeout`: bound on each HTTP exchange, body included; `<= 0` = none (as in Go). */
  requestTimeoutMs: number;
}

/** What nsqd tells the auth server about the connection. */
export interface AuthRequest {
  /** Client IP without port; `""` for unix-socket connections. */
  remoteIp: string;
  /** Whether the connection has been upgraded to TLS. */
  tls: boolean;
  /** The AUTH body; raw bytes are sent exactly (GET), a string is sent as its UTF-8. */
  secret: string | Uint8Array;
  /** Subject CN of the client certificate when TLS is on and one was presented, else `""`. */
  commonName: string;
}

/**
 * The permissions an authorization can grant. `admin` is beyond upstream (whose auth answers with any
 * other permission fail): it opens the HTTP API's administration under `--http-auth`, and is accepted
 * but grants nothing on TCP, so one auth server can answer for both.
 */
export type AuthPermission = "subscribe" | "publish" | "admin";

const PERMISSIONS: readonly string[] = ["subscribe", "publish", "admin"];

/** One entry of the auth server's `authorizations` list, with its patterns compiled. */
export interface Authorization {
  /** Topic pattern (matched unanchored). */
  topic: RegExp;
  /** Channel patterns; a publish is checked against channel `""`. */
  channels: RegExp[];
  /** Granted permissions. */
  permissions: AuthPermission[];
}

/** Fields of an {@link AuthState}. */
export interface AuthStateInit {
  /** Seconds, as answered. */
  ttl: number;
  /** `identity`. */
  identity: string;
  /** `identity_url`. */
  identityUrl: string;
  /** The grants, patterns compiled. */
  authorizations: Authorization[];
  /** ms since the epoch. */
  expires: number;
}

/** A successful auth answer (upstream `auth.State`), cached by the client until it expires. */
export class AuthState {
  /** `ttl` as answered, in seconds (> 0). */
  readonly ttl: number;
  /** `identity` (shown as `auth_identity` in /stats, returned in the AUTH response). */
  readonly identity: string;
  /** `identity_url` (`auth_identity_url` in /stats). */
  readonly identityUrl: string;
  /** The grants; may be empty (→ `E_UNAUTHORIZED AUTH no authorizations found`). */
  readonly authorizations: Authorization[];
  /** ms since the epoch: time of the answer + ttl seconds. */
  readonly expires: number;

  /** Builds a state from already-validated parts (tests and callers that fake an auth server). */
  constructor(init: AuthStateInit) {
    this.ttl = init.ttl;
    this.identity = init.identity;
    this.identityUrl = init.identityUrl;
    this.authorizations = init.authorizations;
    this.expires = init.expires;
  }

  /** Upstream `HasAuthorizations`: the client counts as authed (`authed` in /stats) iff this is true. */
  get hasAuthorizations(): boolean {
    return this.authorizations.length !== 0;
  }

  /** Upstream `IsExpired`: `expires` is strictly before `now`. */
  isExpired(now: number = Date.now()): boolean {
    return this.expires < now;
  }

  /**
   * Upstream `IsAllowed`: some authorization grants `permission`, its topic regex matches `topic`
   * (unanchored) and one of its channel regexes matches `channel` (`""` for publishes, so a publish
   * grant needs a channel pattern that matches the empty string, e.g. `".*"`).
   */
  isAllowed(topic: string, channel: string, permission: AuthPermission): boolean {
    return this.authorizations.some((a) =>
      a.permissions.includes(permission) && a.topic.test(topic) && a.channels.some((c) => c.test(channel))
    );
  }
}

/** Test hooks for {@link queryAuthd}. */
export interface AuthQueryHooks {
  /** Clock for `expires` (default `Date.now`). */
  now?: () => number;
  /** Picks the first address to try, `[0, 1)` (default `Math.random`). */
  random?: () => number;
}

/**
 * Queries the auth servers in random rotation until one answers (upstream `QueryAnyAuthd`): starts at a
 * random address, tries each once, and returns the first valid answer. Throws an Error whose message is
 * meant for the log (upstream's wording: `failed to auth against <addr> - <reason>`, joined with `; `)
 * when every address fails: unreachable, timeout, non-200, bad JSON, ttl <= 0, unknown permission or a
 * pattern that does not compile. The client is only ever told `E_AUTH_FAILED AUTH failed`.
 */
export async function queryAuthd(
  opts: AuthOptions,
  req: AuthRequest,
  hooks: AuthQueryHooks = {},
): Promise<AuthState> {
  const n = opts.addresses.length;
  if (n === 0) throw new Error("no --auth-http-address configured");
  const start = Math.floor((hooks.random ?? Math.random)() * n) % n;
  let failure = "";
  for (let i = 0; i < n; i++) {
    const address = opts.addresses[(start + i) % n];
    try {
      return await queryOne(address, opts, req, hooks.now ?? Date.now);
    } catch (err) {
      // The GET query carries the secret, and fetch errors may quote the URL: never log it.
      const msg = `failed to auth against ${address} - ${redactSecret((err as Error).message)}`;
      failure = failure === "" ? msg : `${failure}; ${msg}`;
    }
  }
  throw new Error(failure);
}

/** `text` with every occurrence of `secret` (as text, query-escaped or JSON-quoted) replaced by `REDACTED`. */
function withoutSecret(text: string, secret: Uint8Array): string {
  if (secret.length === 0) return text;
  const plain = decoder.decode(secret);
  const forms = new Set([plain, queryEscape(secret), JSON.stringify(plain).slice(1, -1)]);
  for (const form of forms) if (form !== "") text = text.replaceAll(form, "REDACTED");
  return text;
}

/** Replaces the value of every `secret=` query parameter in `text` with `REDACTED`. */
export function redactSecret(text: string): string {
  return text.replace(/([?&]secret=)[^&\s"')]*/g, "$1REDACTED");
}

/** The URL an `--auth-http-address` value is queried at (before the GET query string). */
export function authEndpoint(address: string): string {
  return address.includes("://") ? address : `http://${address}/auth`;
}

/**
 * The AUTH success response body, as upstream marshals it: `{"identity":…,"identity_url":…,
 * "permission_count":N}` where N is the number of *authorizations* (not of permissions).
 */
export function authResponseJson(state: AuthState): string {
  return goJson({
    identity: state.identity,
    identity_url: state.identityUrl,
    permission_count: state.authorizations.length,
  });
}

/**
 * The client's `/stats` auth fields (all `omitempty`; upstream places them after `user_agent` and
 * before `pub_counts`): `authed` iff the state has authorizations, identity fields when non-empty.
 */
export function authStats(
  state: AuthState | null | undefined,
): { authed?: true; auth_identity?: string; auth_identity_url?: string } {
  const out: { authed?: true; auth_identity?: string; auth_identity_url?: string } = {};
  if (!state) return out;
  if (state.hasAuthorizations) out.authed = true;
  if (state.identity !== "") out.auth_identity = state.identity;
  if (state.identityUrl !== "") out.auth_identity_url = state.identityUrl;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// HTTP (upstream `http_api.Client` GETV1 / POSTV1)

const ACCEPT = "application/vnd.nsq; version=1.0";
const USER_AGENT = userAgent("nsqd");
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

async function queryOne(address: string, opts: AuthOptions, req: AuthRequest, now: () => number) {
  const secret = typeof req.secret === "string" ? encoder.encode(req.secret) : req.secret;
  const base = authEndpoint(address);
  const post = opts.method === "post";
  // url.Values are a map: Encode() and json.Marshal() both write the keys sorted.
  const values: [string, Uint8Array][] = [
    ["common_name", encoder.encode(req.commonName)],
    ["remote_ip", encoder.encode(req.remoteIp)],
    ["secret", secret],
    ["tls", encoder.encode(req.tls ? "true" : "false")],
  ];
  let endpoint = post ? base : `${base}?${values.map(([k, v]) => `${k}=${queryEscape(v)}`).join("&")}`;
  const body = post
    ? goJson(Object.fromEntries(values.map(([k, v]) => [k, [decoder.decode(v)]])))
    : undefined;
  const op = post ? "Post" : "Get";
  for (;;) {
    const headers: Record<string, string> = { Accept: ACCEPT, "User-Agent": USER_AGENT };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const signal = opts.requestTimeoutMs > 0 ? AbortSignal.timeout(opts.requestTimeoutMs) : undefined;
    let res: Response;
    try {
      res = await fetch(endpoint, { method: post ? "POST" : "GET", headers, body, signal });
    } catch (err) {
      throw new Error(`${op} ${JSON.stringify(endpoint)}: ${fetchFailure(err, "awaiting headers")}`);
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      throw new Error(`${op} ${JSON.stringify(endpoint)}: ${fetchFailure(err, "reading body")}`);
    }
    if (res.status !== 200) {
      // Upstream's V1 client follows nsqd's own "TLS required" 403 to its HTTPS port.
      if (res.status === 403 && !endpoint.startsWith("https")) {
        endpoint = httpsEndpoint(endpoint, bytes);
        continue;
      }
      const status = res.statusText ? `${res.status} ${res.statusText}` : `${res.status}`;
      // The server's answer may quote the secret it refused: never log it.
      throw new Error(`got response ${status} ${withoutSecret(goQuote(bytes), secret)}`);
    }
    return parseAuthResponse(decoder.decode(bytes), now());
  }
}

function fetchFailure(err: unknown, phase: string): string {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `context deadline exceeded (Client.Timeout exceeded while ${phase})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Go's `url.QueryEscape` of raw bytes: unreserved `A-Za-z0-9-_.~` kept, space → `+`, rest `%XX`. */
function queryEscape(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    const unreserved = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
      b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
    if (unreserved) out += String.fromCharCode(b);
    else if (b === 0x20) out += "+";
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** Upstream `httpsEndpoint`: same URL, scheme https, port from the 403 body's `https_port`. */
function httpsEndpoint(endpoint: string, body: Uint8Array): string {
  const doc = decodeGoJson(decoder.decode(body));
  let port = 0;
  if (doc.t === "obj") {
    for (const [k, v] of doc.entries) {
      if (k.toLowerCase() !== "https_port" || v.t === "null") continue;
      port = goInt(v, "https_port", "forbiddenResp");
    }
  } else if (doc.t !== "null") {
    throw new Error(`json: cannot unmarshal ${kindName(doc)} into Go value of type struct { HTTPSPort int }`);
  }
  const m = /^([^:/?#]+:\/\/)((?:[^@/?#]*@)?)(\[[^\]]*\]|[^:/?#]*)(:[0-9]*)?(.*)$/s.exec(endpoint);
  if (!m || m[4] === undefined) {
    throw new Error(`address ${m ? m[3] : endpoint}: missing port in address`);
  }
  return `https://${m[2]}${m[3]}:${port}${m[5]}`;
}

// ---------------------------------------------------------------------------------------------------
// Response decoding (Go `json.Unmarshal` into `auth.State`, then upstream's validation)

/**
 * Decodes an auth server's 200 body as upstream does and validates it (permissions, patterns, ttl, in
 * that order); `now` (ms) + ttl gives `expires`. Throws with upstream's messages.
 */
export function parseAuthResponse(text: string, now: number): AuthState {
  const doc = decodeGoJson(text);
  let ttl = 0;
  let identity = "";
  let identityUrl = "";
  let raw: RawAuthorization[] = [];
  if (doc.t === "obj") {
    for (const [key, v] of doc.entries) {
      if (v.t === "null") {
        if (fieldName(key, STATE_FIELDS) === "authorizations") raw = [];
        continue;
      }
      switch (fieldName(key, STATE_FIELDS)) {
        case "ttl":
          ttl = goInt(v, "ttl", "State");
          break;
        case "identity":
          identity = goString(v, "State.identity");
          break;
        case "identity_url":
          identityUrl = goString(v, "State.identity_url");
          break;
        case "authorizations":
          raw = decodeAuthorizations(v);
          break;
        case "Expires": // untagged time.Time field: decoded (and must parse), then overwritten
          if (v.t !== "str") throw new Error("Time.UnmarshalJSON: input is not a JSON string");
          if (!RFC3339.test(v.v)) throw new Error(`parsing time ${JSON.stringify(JSON.stringify(v.v))}`);
          break;
      }
    }
  } else if (doc.t !== "null") {
    throw new Error(`json: cannot unmarshal ${kindName(doc)} into Go value of type auth.State`);
  }

  const authorizations: Authorization[] = [];
  for (const a of raw) {
    for (const p of a.permissions) {
      if (!PERMISSIONS.includes(p)) throw new Error(`unknown permission ${p}`);
    }
    const topic = compileOrThrow(a.topic, "topic");
    const channels = a.channels.map((c) => compileOrThrow(c, "channel"));
    authorizations.push({ topic, channels, permissions: a.permissions as AuthPermission[] });
  }
  if (ttl <= 0) throw new Error(`invalid TTL ${ttl} (must be >0)`);
  // time.Duration(ttl) * time.Second, with Go's int64 wrap-around for absurd ttls.
  const ns = BigInt.asIntN(64, BigInt(ttl) * 1_000_000_000n);
  return new AuthState({
    ttl,
    identity,
    identityUrl,
    authorizations,
    expires: now + Number(ns / 1_000_000n),
  });
}

interface RawAuthorization {
  topic: string;
  channels: string[];
  permissions: string[];
}

const STATE_FIELDS = ["ttl", "authorizations", "identity", "identity_url", "Expires"];
const AUTHORIZATION_FIELDS = ["topic", "channels", "permissions"];
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function compileOrThrow(pattern: string, what: string): RegExp {
  try {
    return re2ToRegExp(pattern);
  } catch (err) {
    throw new Error(
      `unable to compile ${what} ${goQuote(encoder.encode(pattern))} ${(err as Error).message}`,
    );
  }
}

/** Go's field matching: exact name first, else case-insensitive. */
function fieldName(key: string, fields: string[]): string | undefined {
  if (fields.includes(key)) return key;
  const lower = key.toLowerCase();
  return fields.find((f) => f.toLowerCase() === lower);
}

function decodeAuthorizations(v: RawJson): RawAuthorization[] {
  if (v.t !== "arr") {
    throw new Error(
      `json: cannot unmarshal ${
        kindName(v)
      } into Go struct field State.authorizations of type []auth.Authorization`,
    );
  }
  return v.items.map((item) => {
    const a: RawAuthorization = { topic: "", channels: [], permissions: [] };
    if (item.t === "null") return a;
    if (item.t !== "obj") {
      throw new Error(
        `json: cannot unmarshal ${
          kindName(item)
        } into Go struct field State.authorizations of type auth.Authorization`,
      );
    }
    for (const [key, fv] of item.entries) {
      const name = fieldName(key, AUTHORIZATION_FIELDS);
      if (name === undefined) continue;
      if (fv.t === "null") {
        if (name !== "topic") a[name as "channels" | "permissions"] = [];
        continue;
      }
      const path = `State.authorizations.${name}`;
      if (name === "topic") a.topic = goString(fv, path);
      else a[name as "channels" | "permissions"] = goStrings(fv, path);
    }
    return a;
  });
}

function goString(v: RawJson, path: string): string {
  if (v.t !== "str") {
    throw new Error(`json: cannot unmarshal ${kindName(v)} into Go struct field ${path} of type string`);
  }
  return v.v;
}

function goStrings(v: RawJson, path: string): string[] {
  if (v.t !== "arr") {
    throw new Error(`json: cannot unmarshal ${kindName(v)} into Go struct field ${path} of type []string`);
  }
  return v.items.map((item) => (item.t === "null" ? "" : goString(item, path)));
}

function goInt(v: RawJson, key: string, struct: string): number {
  const bad = () =>
    new Error(`json: cannot unmarshal ${kindName(v)} into Go struct field ${struct}.${key} of type int`);
  if (v.t !== "num" || !/^-?(0|[1-9][0-9]*)$/.test(v.raw)) throw bad();
  const n = BigInt(v.raw);
  if (n < -(1n << 63n) || n >= 1n << 63n) throw bad();
  return Number(n);
}

function kindName(v: RawJson): string {
  switch (v.t) {
    case "obj":
      return "object";
    case "arr":
      return "array";
    case "str":
      return "string";
    case "num":
      return `number ${v.raw}`;
    case "bool":
      return "bool";
    case "null":
      return "null";
  }
}

/** A JSON value with number literals kept verbatim (Go refuses `1e3` or `1.0` for an int). */
type RawJson =
  | { t: "obj"; entries: [string, RawJson][] }
  | { t: "arr"; items: RawJson[] }
  | { t: "str"; v: string }
  | { t: "num"; raw: string }
  | { t: "bool"; v: boolean }
  | { t: "null" };

/** Parses JSON text (syntax checked by JSON.parse first, so Go and JS reject the same documents). */
function decodeGoJson(text: string): RawJson {
  if (text.trim() === "") throw new Error("unexpected end of JSON input");
  JSON.parse(text);
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const str = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): RawJson => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const entries: [string, RawJson][] = [];
      ws();
      if (text[i] === "}") {
        i++;
        return { t: "obj", entries };
      }
      for (;;) {
        ws();
        const key = str();
        ws();
        i++; // ':'
        entries.push([key, value()]);
        ws();
        if (text[i++] === "}") return { t: "obj", entries };
      }
    }
    if (c === "[") {
      i++;
      const items: RawJson[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return { t: "arr", items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i++] === "]") return { t: "arr", items };
      }
    }
    if (c === '"') return { t: "str", v: str() };
    if (text.startsWith("true", i)) {
      i += 4;
      return { t: "bool", v: true };
    }
    if (text.startsWith("false", i)) {
      i += 5;
      return { t: "bool", v: false };
    }
    if (text.startsWith("null", i)) {
      i += 4;
      return { t: "null" };
    }
    const start = i;
    while (i < text.length && /[-+.eE0-9]/.test(text[i])) i++;
    return { t: "num", raw: text.slice(start, i) };
  };
  return value();
}

// ---------------------------------------------------------------------------------------------------
// Go RE2 syntax → JS RegExp

/**
 * Compiles a Go `regexp` (RE2, Perl flags) pattern into an equivalent JS RegExp for `test()` (an
 * unanchored `MatchString`). Go's parser is reproduced so that what Go rejects is rejected here too
 * (lookarounds, backreferences, `\Z`, unknown escapes, repeat counts > 1000, unbalanced parens…), and
 * the constructs whose meaning differs are rewritten:
 *
 * - `^`/`$` are text anchors (`\A`/`\z`), line anchors under `(?m)` — `\n` only, unlike JS's `m`;
 * - `.` excludes only `\n` (JS also excludes `\r`, U+2028/9) unless `(?s)`;
 * - `\s` is `[\t\n\f\r ]` (JS's `\s` is Unicode-wide and includes `\v`);
 * - flag groups `(?i)`, `(?m)`, `(?s)`, `(?U)`, `(?i:…)`, `(?-i)`; a mid-pattern case-insensitivity
 *   change is emitted as a RegExp modifier group `(?i:…)`/`(?-i:…)` (ES2025; Deno and Bun have it);
 * - `\Q…\E`, `\x{…}`, octal `\123`, `\a`, POSIX `[[:alpha:]]`/`[[:^alpha:]]`, `\pL`, `\p{Greek}`
 *   (→ `\p{Script=Greek}`), `\p{^L}`, `(?P<name>…)`, a leading `]` in a class, a `{` that is not a
 *   repeat, escaped punctuation (`\-`, `\#`…) — all spelled out in `u`-mode JS.
 *
 * Remaining differences: Unicode tables follow the JS engine's Unicode version; JS's `\p{C}` also
 * covers unassigned code points (Go's `C` does not) and JS accepts script aliases (`Grek`) that Go
 * rejects; Go's size limits on nested repeats/program size are not enforced; JS `i` folding (with `\w`,
 * `\b` under `i`) follows ECMAScript's simple case folding, which agrees with Go's on ASCII.
 */
export function re2ToRegExp(pattern: string): RegExp {
  const { source, flags } = new Re2Translator(pattern).translate();
  try {
    return new RegExp(source, flags);
  } catch (err) {
    throw new Error(`error parsing regexp: ${(err as Error).message}: \`${pattern}\``);
  }
}

interface ReFlags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

type Ranges = [number, number][];

const MAX_RUNE = 0x10ffff;
const JS_SYNTAX = "^$\\.*+?()[]{}|/";
const GO_CATEGORIES = new Set(
  "C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs"
    .split(" "),
);
const SPACE: Ranges = [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]];
const POSIX: Record<string, Ranges> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

function complement(r: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of [...r].sort((a, b) => a[0] - b[0])) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

function cpEscape(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function rangesBody(r: Ranges): string {
  return r.map(([lo, hi]) => (lo === hi ? cpEscape(lo) : `${cpEscape(lo)}-${cpEscape(hi)}`)).join("");
}

function isAlnum(c: string): boolean {
  return /^[0-9A-Za-z]$/.test(c);
}

function hexVal(c: string | undefined): number {
  return c !== undefined && /^[0-9A-Fa-f]$/.test(c) ? parseInt(c, 16) : -1;
}

class Re2Translator {
  readonly #cps: string[];
  #pos = 0;
  #out = "";
  #flags: ReFlags = { i: false, m: false, s: false, U: false };
  readonly #globalI: boolean;
  readonly #groups: { saved: ReFlags; outStart: number }[] = [];
  /** Where in #out the last repeatable item starts; -1 if there is none. */
  #atomStart = -1;
  /** The last item must be wrapped in `(?:…)` before a quantifier (assertion, or already quantified). */
  #atomWrap = false;

  constructor(readonly pattern: string) {
    this.#cps = Array.from(pattern);
    // A leading `(?i)`-style group makes the whole pattern case-insensitive: use the JS `i` flag.
    this.#globalI = /^\(\?[imsU]*i[imsU]*\)/.test(pattern);
  }

  #err(code: string, expr: string): Error {
    return new Error(`error parsing regexp: ${code}: \`${expr}\``);
  }

  #text(from: number, to = this.#pos): string {
    return this.#cps.slice(from, to).join("");
  }

  translate(): { source: string; flags: string } {
    const cps = this.#cps;
    let lastRepeat = false;
    while (this.#pos < cps.length) {
      const wasRepeat = lastRepeat;
      lastRepeat = false;
      const c = cps[this.#pos];
      switch (c) {
        case "(":
          this.#openParen();
          break;
        case ")":
          this.#closeParen();
          break;
        case "|":
          this.#out += "|";
          this.#atomStart = -1;
          this.#pos++;
          break;
        case "^":
          this.#assertion(this.#flags.m ? "(?<![^\\n])" : "(?<![\\s\\S])");
          this.#pos++;
          break;
        case "$":
          this.#assertion(this.#flags.m ? "(?![^\\n])" : "(?![\\s\\S])");
          this.#pos++;
          break;
        case ".":
          this.#atom(this.#flags.s ? "[\\s\\S]" : "[^\\n]", false);
          this.#pos++;
          break;
        case "[":
          this.#atom(this.#parseClass(), true);
          break;
        case "*":
        case "+":
        case "?": {
          const start = this.#pos++;
          this.#repeat(c, start, wasRepeat);
          lastRepeat = true;
          break;
        }
        case "{": {
          const start = this.#pos;
          const rep = this.#parseRepeat();
          if (rep === null) {
            this.#literal("{");
            this.#pos++;
            break;
          }
          const [min, max] = rep;
          if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max)) {
            throw this.#err("invalid repeat count", this.#text(start));
          }
          this.#repeat(
            max === min ? `{${min}}` : max < 0 ? `{${min},}` : `{${min},${max}}`,
            start,
            wasRepeat,
          );
          lastRepeat = true;
          break;
        }
        case "\\":
          this.#backslash();
          break;
        default:
          this.#literal(c);
          this.#pos++;
      }
    }
    if (this.#groups.length > 0) throw this.#err("missing closing )", this.pattern);
    return { source: this.#out, flags: this.#globalI ? "iu" : "u" };
  }

  #atom(src: string, foldable: boolean): void {
    const start = this.#out.length;
    if (foldable && this.#flags.i !== this.#globalI) src = `(?${this.#flags.i ? "" : "-"}i:${src})`;
    this.#out += src;
    this.#atomStart = start;
    this.#atomWrap = false;
  }

  #assertion(src: string): void {
    this.#atomStart = this.#out.length;
    this.#out += src;
    this.#atomWrap = true;
  }

  #literal(ch: string): void {
    const src = JS_SYNTAX.includes(ch) ? "\\" + ch : ch;
    this.#atom(src, ch.toLowerCase() !== ch || ch.toUpperCase() !== ch);
  }

  /** Applies a quantifier (`*`, `+`, `?`, `{n,m}`) just consumed (it began at `start`). */
  #repeat(q: string, start: number, wasRepeat: boolean): void {
    let nonGreedy = this.#flags.U;
    if (this.#cps[this.#pos] === "?") {
      this.#pos++;
      nonGreedy = !nonGreedy;
    }
    if (wasRepeat) throw this.#err("invalid nested repetition operator", this.#text(start));
    if (this.#atomStart < 0) throw this.#err("missing argument to repetition operator", this.#text(start));
    if (this.#atomWrap) {
      this.#out = `${this.#out.slice(0, this.#atomStart)}(?:${this.#out.slice(this.#atomStart)})`;
    }
    this.#out += q + (nonGreedy ? "?" : "");
    this.#atomWrap = true;
  }

  /**
   * `{n}`, `{n,}`, `{n,m}` at #pos (Go `parseRepeat`); null if it is a literal `{`. Max -1 = none.
   * Like Go, a number with a leading zero makes the `{` literal, and one of 10+ digits reads as -1.
   */
  #parseRepeat(): [number, number] | null {
    const cps = this.#cps;
    let p = this.#pos + 1;
    const int = (): number | null => {
      const s = p;
      while (p < cps.length && cps[p] >= "0" && cps[p] <= "9") p++;
      if (p === s || (p - s >= 2 && cps[s] === "0")) return null;
      let n = 0;
      for (let k = s; k < p; k++) {
        if (n >= 1e8) return -1;
        n = n * 10 + cps[k].charCodeAt(0) - 0x30;
      }
      return n;
    };
    const min = int();
    if (min === null) return null;
    let max = min;
    if (cps[p] === ",") {
      p++;
      if (cps[p] === "}") max = -1;
      else {
        const m = int();
        if (m === null) return null;
        max = m;
      }
    }
    if (cps[p] !== "}") return null;
    this.#pos = p + 1;
    return [min, max];
  }

  #openParen(): void {
    const cps = this.#cps;
    const start = this.#pos;
    if (cps[start + 1] !== "?") {
      this.#pushGroup();
      this.#pos++;
      return;
    }
    const pNamed = cps[start + 2] === "P" && cps[start + 3] === "<" && cps.length > start + 4;
    const named = cps[start + 2] === "<" && cps.length > start + 3;
    if (pNamed || named) {
      const end = cps.indexOf(">", start);
      if (end < 0) throw this.#err("invalid named capture", this.#text(start, cps.length));
      const name = this.#text(start + (pNamed ? 4 : 3), end);
      if (!/^[0-9A-Za-z_]+$/.test(name)) throw this.#err("invalid named capture", this.#text(start, end + 1));
      this.#pos = end + 1;
      this.#pushGroup();
      return;
    }
    const flags = { ...this.#flags };
    let sign = 1;
    let sawFlag = false;
    let p = start + 2;
    while (p < cps.length) {
      const c = cps[p++];
      if (c === "i" || c === "m" || c === "s" || c === "U") {
        flags[c] = sign > 0;
        sawFlag = true;
      } else if (c === "-" && sign > 0) {
        sign = -1;
        sawFlag = false;
      } else if ((c === ":" || c === ")") && (sign > 0 || sawFlag)) {
        this.#pos = p;
        if (c === ":") this.#pushGroup();
        this.#flags = flags;
        return;
      } else {
        break;
      }
    }
    throw this.#err("invalid or unsupported Perl syntax", this.#text(start, p));
  }

  #pushGroup(): void {
    this.#groups.push({ saved: { ...this.#flags }, outStart: this.#out.length });
    this.#out += "(?:";
    this.#atomStart = -1;
  }

  #closeParen(): void {
    const g = this.#groups.pop();
    if (!g) throw this.#err("unexpected )", this.pattern);
    this.#flags = g.saved;
    this.#out += ")";
    this.#atomStart = g.outStart;
    this.#atomWrap = false;
    this.#pos++;
  }

  #backslash(): void {
    const cps = this.#cps;
    const start = this.#pos;
    const d = cps[start + 1];
    if (d === undefined) throw this.#err("trailing backslash at end of expression", "");
    switch (d) {
      case "A":
        this.#assertion("(?<![\\s\\S])");
        this.#pos += 2;
        return;
      case "z":
        this.#assertion("(?![\\s\\S])");
        this.#pos += 2;
        return;
      case "b":
      case "B":
        this.#assertion("\\" + d);
        this.#pos += 2;
        return;
      case "C":
        throw this.#err("invalid escape sequence", "\\C");
      case "Q": {
        let end = start + 2;
        while (end < cps.length && !(cps[end] === "\\" && cps[end + 1] === "E")) end++;
        for (const ch of cps.slice(start + 2, end)) this.#literal(ch);
        this.#pos = Math.min(end + 2, cps.length);
        return;
      }
      case "p":
      case "P": {
        const [body, negated, any] = this.#unicodeClass();
        if (any !== undefined) this.#atom(any !== negated ? "[\\s\\S]" : "[]", false);
        else this.#atom(`\\${negated ? "P" : "p"}{${body}}`, true);
        return;
      }
      case "d":
      case "D":
      case "w":
      case "W":
        this.#atom("\\" + d, true);
        this.#pos += 2;
        return;
      case "s":
      case "S":
        this.#atom(`[${d === "S" ? "^" : ""}${rangesBody(SPACE)}]`, false);
        this.#pos += 2;
        return;
    }
    const cp = this.#escape();
    this.#literal(String.fromCodePoint(cp));
  }

  /**
   * `\pX`, `\p{Name}`, `\p{^Name}`, `\P…` at #pos. Returns the JS property body, whether the class is
   * negated, and for `Any` (which JS lacks) `true` instead of a body.
   */
  #unicodeClass(): [string, boolean, true | undefined] {
    const cps = this.#cps;
    const start = this.#pos;
    let negated = cps[start + 1] === "P";
    let name: string;
    if (cps[start + 2] === "{") {
      const end = cps.indexOf("}", start);
      if (end < 0) throw this.#err("invalid character class range", this.#text(start, cps.length));
      name = this.#text(start + 3, end);
      this.#pos = end + 1;
    } else {
      name = cps[start + 2] ?? "";
      this.#pos = Math.min(start + 3, cps.length);
    }
    const seq = this.#text(start);
    if (name.startsWith("^")) {
      negated = !negated;
      name = name.slice(1);
    }
    if (name === "Any") return ["", negated, true];
    if (GO_CATEGORIES.has(name)) return [name, negated, undefined];
    if (!/^[A-Za-z_]+$/.test(name)) throw this.#err("invalid character class range", seq);
    return [`Script=${name}`, negated, undefined]; // unknown scripts fail in the RegExp constructor
  }

  /** A single-character escape at #pos (Go `parseEscape`); returns the code point. */
  #escape(): number {
    const cps = this.#cps;
    const start = this.#pos;
    const c = cps[start + 1];
    let p = start + 2;
    const fail = () => this.#err("invalid escape sequence", this.#text(start, p));
    if (c === undefined) throw this.#err("trailing backslash at end of expression", "");
    const isOctal = (x: string | undefined) => x !== undefined && x >= "0" && x <= "7";
    if (c.codePointAt(0)! < 0x80 && !isAlnum(c)) {
      this.#pos = p;
      return c.codePointAt(0)!;
    }
    if ((c >= "1" && c <= "7" && isOctal(cps[p])) || c === "0") {
      let r = c.charCodeAt(0) - 0x30;
      for (let k = 1; k < 3 && isOctal(cps[p]); k++) r = r * 8 + cps[p++].charCodeAt(0) - 0x30;
      this.#pos = p;
      return r;
    }
    if (c === "x") {
      const x = cps[p++];
      if (x === undefined) throw fail();
      if (x === "{") {
        let r = 0;
        let nhex = 0;
        for (;;) {
          const h = cps[p++];
          if (h === undefined) throw fail();
          if (h === "}") break;
          const v = hexVal(h);
          if (v < 0) throw fail();
          r = r * 16 + v;
          if (r > MAX_RUNE) throw fail();
          nhex++;
        }
        if (nhex === 0) throw fail();
        this.#pos = p;
        return r;
      }
      const hi = hexVal(x);
      const lo = hexVal(cps[p++]);
      if (hi < 0 || lo < 0) throw fail();
      this.#pos = p;
      return hi * 16 + lo;
    }
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (c in simple) {
      this.#pos = p;
      return simple[c];
    }
    throw fail();
  }

  /** A bracketed class at #pos (Go `parseClass`); returns the JS class. */
  #parseClass(): string {
    const cps = this.#cps;
    const start = this.#pos;
    let p = start + 1;
    let negate = false;
    if (cps[p] === "^") {
      negate = true;
      p++;
    }
    let body = "";
    let first = true;
    const classChar = (): number => {
      if (p >= cps.length) throw this.#err("missing closing ]", this.#text(start, cps.length));
      if (cps[p] === "\\") {
        this.#pos = p;
        const cp = this.#escape();
        p = this.#pos;
        return cp;
      }
      return cps[p++].codePointAt(0)!;
    };
    while (p >= cps.length || cps[p] !== "]" || first) {
      if (p >= cps.length) throw this.#err("missing closing ]", this.#text(start, cps.length));
      first = false;
      if (cps[p] === "[" && cps[p + 1] === ":") {
        let end = -1;
        for (let k = p + 2; k + 1 < cps.length; k++) {
          if (cps[k] === ":" && cps[k + 1] === "]") {
            end = k;
            break;
          }
        }
        if (end >= 0) {
          let name = this.#text(p + 2, end);
          const neg = name.startsWith("^");
          if (neg) name = name.slice(1);
          const ranges = Object.hasOwn(POSIX, name) ? POSIX[name] : undefined;
          if (!ranges) throw this.#err("invalid character class range", this.#text(p, end + 2));
          body += rangesBody(neg ? complement(ranges) : ranges);
          p = end + 2;
          continue;
        }
      }
      if (cps[p] === "\\" && (cps[p + 1] === "p" || cps[p + 1] === "P")) {
        this.#pos = p;
        const [name, negated, any] = this.#unicodeClass();
        p = this.#pos;
        if (any !== undefined) body += any !== negated ? rangesBody([[0, MAX_RUNE]]) : "";
        else body += `\\${negated ? "P" : "p"}{${name}}`;
        continue;
      }
      if (cps[p] === "\\" && "dDwW".includes(cps[p + 1] ?? "x")) {
        body += "\\" + cps[p + 1];
        p += 2;
        continue;
      }
      if (cps[p] === "\\" && (cps[p + 1] === "s" || cps[p + 1] === "S")) {
        body += rangesBody(cps[p + 1] === "s" ? SPACE : complement(SPACE));
        p += 2;
        continue;
      }
      const rangeStart = p;
      const lo = classChar();
      let hi = lo;
      if (p + 1 < cps.length && cps[p] === "-" && cps[p + 1] !== "]") {
        p++;
        hi = classChar();
        if (hi < lo) throw this.#err("invalid character class range", this.#text(rangeStart, p));
      }
      body += rangesBody([[lo, hi]]);
    }
    this.#pos = p + 1;
    return `[${negate ? "^" : ""}${body}]`;
  }
}
