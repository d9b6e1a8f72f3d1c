/**
 * NSQ's HTTP response conventions (nsq `internal/http_api`, shared/nsq-reference.md §2.1), shared by
 * nsqd and nsqlookupd: V1 responses carry `X-NSQ-Content-Type: nsq; version=1.0`; errors are
 * `{"message":"…"}` with the error's status; bodies are parsed only from the URL query.
 */
import type { Context, Hono } from "hono";

/** An HTTP error with NSQ's status and message text (`http_api.Err`). */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "HttpError";
  }
}

const NSQ_HEADER = "nsq; version=1.0";

/** A V1 success: text as-is (Go sniffs `text/plain`), `""` with no content type, objects as JSON. */
export function v1(data: unknown, status = 200): Response {
  const headers = new Headers({ "X-NSQ-Content-Type": NSQ_HEADER });
  if (data === null || data === undefined || data === "") return new Response(null, { status, headers });
  if (typeof data === "string") {
    headers.set("Content-Type", "text/plain; charset=utf-8");
    return new Response(data, { status, headers });
  }
  headers.set("Content-Type", "application/json; charset=utf-8");
  return new Response(JSON.stringify(data), { status, headers });
}

/** A V1 error: `{"message":"TEXT"}`. */
export function v1Error(status: number, message: string): Response {
  return new Response(JSON.stringify({ message }), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", "X-NSQ-Content-Type": NSQ_HEADER },
  });
}

/** A PlainText response (`/ping`): no NSQ header. */
export function plainText(text: string, status = 200): Response {
  return new Response(text, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

type Handler = (c: Context) => Response | Promise<Response>;

/**
 * Registers a path with its methods, answering other methods with 405 METHOD_NOT_ALLOWED as
 * httprouter does (HEAD is not implied by GET).
 */
/** Registered paths (as regexes) and their methods per app, for httprouter's redirects. */
const ROUTES = new WeakMap<Hono, { path: string; re: RegExp; methods: Set<string> }[]>();

export function route(
  app: Hono,
  path: string,
  handlers: Partial<Record<"GET" | "POST" | "PUT" | "DELETE", Handler>>,
): void {
  const list = ROUTES.get(app) ?? [];
  ROUTES.set(app, list);
  const re = new RegExp(
    "^" + path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z_]+/g, "[^/]+") + "$",
  );
  list.push({ path, re, methods: new Set(Object.keys(handlers)) });
  app.all(path, (c) => {
    const h = handlers[c.req.method as "GET" | "POST" | "PUT" | "DELETE"];
    if (h === undefined) return v1Error(405, "METHOD_NOT_ALLOWED");
    return h(c);
  });
}

/** Unknown paths, handler failures and HttpErrors, the NSQ way. */
export function installErrorHandlers(app: Hono, onInternalError: (err: unknown) => void): void {
  app.notFound((c) => redirectLikeHttprouter(app, c.req.raw) ?? v1Error(404, "NOT_FOUND"));
  app.onError((err) => {
    if (err instanceof HttpError) return v1Error(err.status, err.message);
    onInternalError(err);
    return v1Error(500, "INTERNAL_ERROR");
  });
}

/**
 * Go's `url.ParseQuery` of a raw query string: `+` is a space, bad `%` escapes and `;` separators
 * are errors (→ 400 INVALID_REQUEST). Keys keep every value, first one first.
 */
export function parseQuery(url: string): Map<string, string[]> {
  const q = url.indexOf("?");
  const out = new Map<string, string[]>();
  if (q < 0) return out;
  let raw = url.slice(q + 1);
  const hash = raw.indexOf("#");
  if (hash >= 0) raw = raw.slice(0, hash);
  for (const part of raw.split("&")) {
    if (part === "") continue;
    if (part.includes(";")) throw new HttpError(400, "INVALID_REQUEST");
    const eq = part.indexOf("=");
    const key = unescape(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? "" : unescape(part.slice(eq + 1));
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  }
  return out;
}

function unescape(s: string): string {
  if (!s.includes("%") && !s.includes("+")) return s;
  if (/%(?![0-9a-fA-F]{2})/.test(s)) throw new HttpError(400, "INVALID_REQUEST");
  try {
    return decodeURIComponent(s.replaceAll("+", " "));
  } catch {
    // Valid escapes that are not UTF-8: keep the bytes as Latin-1 rather than fail.
    return s.replaceAll("+", " ").replace(
      /%([0-9a-fA-F]{2})/g,
      (_, h) => String.fromCharCode(parseInt(h, 16)),
    );
  }
}

/** Reads at most `max` bytes of a request body (stops reading past that). */
export async function readBodyLimited(req: Request, max: number): Promise<Uint8Array> {
  if (req.body === null) return new Uint8Array(0);
  // A body whose announced length fits is taken whole: the runtimes hand it over in one piece (Deno without
  // a stream, a promise per chunk and a copy: /mpub on Deno spent ~5 % of nsqd's time here).
  const announced = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isSafeInteger(announced) && announced <= max) return new Uint8Array(await req.arrayBuffer());
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.length;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(Math.min(total, max));
  let off = 0;
  for (const c of chunks) {
    const n = Math.min(c.length, out.length - off);
    out.set(c.subarray(0, n), off);
    off += n;
    if (off === out.length) break;
  }
  return out;
}

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

/**
 * httprouter's RedirectTrailingSlash and RedirectFixedPath (both on in nsqd and nsqlookupd): a path that
 * matches a route of the same method once its trailing slash is removed, or once it is cleaned and
 * matched case-insensitively, is redirected there — 301 for GET, 308 for other methods.
 */
function redirectLikeHttprouter(app: Hono, req: Request): Response | null {
  const routes = ROUTES.get(app);
  if (routes === undefined || req.method === "CONNECT") return null;
  const url = new URL(req.url);
  const path = url.pathname;
  if (path === "/") return null;
  const forMethod = routes.filter((r) => r.methods.has(req.method));
  let target: string | null = null;
  if (path.length > 1 && path.endsWith("/") && forMethod.some((r) => r.re.test(path.slice(0, -1)))) {
    target = path.slice(0, -1);
  } else {
    const clean = cleanPath(path);
    const lower = clean.toLowerCase();
    const lowerNoSlash = lower.length > 1 && lower.endsWith("/") ? lower.slice(0, -1) : lower;
    const hit = forMethod.find((r) => !r.path.includes(":") && (r.path === lower || r.path === lowerNoSlash));
    if (hit !== undefined) target = hit.path;
  }
  if (target === null) return null;
  const location = target + url.search;
  const code = req.method === "GET" ? 301 : 308;
  const headers = new Headers({ Location: location });
  if (req.method === "GET" || req.method === "HEAD") headers.set("Content-Type", "text/html; charset=utf-8");
  const body = req.method === "GET"
    ? `<a href="${location.replaceAll("&", "&amp;").replaceAll('"', "&#34;")}">Moved Permanently</a>.\n\n`
    : null;
  return new Response(body, { status: code, headers });
}

/** httprouter's CleanPath: one slash between segments, `.` and `..` resolved, the trailing slash kept. */
function cleanPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  const cleaned = "/" + out.join("/");
  return p.endsWith("/") && cleaned !== "/" ? cleaned + "/" : cleaned;
}
