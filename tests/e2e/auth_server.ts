/**
 * A scriptable NSQ auth server for tests (the `--auth-http-address` side of shared/nsq-reference.md
 * §3.12): records every request nsqd makes and answers with whatever the test's handler returns.
 *
 * ```ts
 * const auth = startAuthServer(() => grant([{ topic: ".*", channels: [".*"], permissions: ["publish"] }]));
 * // nsqd … --auth-http-address=${auth.address}
 * await auth.close();
 * ```
 */

/** One request as the auth server saw it. */
export interface AuthServerRequest {
  method: string;
  /** Path without the query string, e.g. `/auth`. */
  path: string;
  /** The raw query string without `?` (`""` for none). */
  rawQuery: string;
  headers: Headers;
  /** Raw request body (`""` for GET). */
  body: string;
  /**
   * The four auth parameters (`remote_ip`, `tls`, `secret`, `common_name`), taken from the query string
   * for GET and from the JSON `url.Values` body (first value of each key) for POST.
   */
  params: Record<string, string>;
  /** Aborted when the server closes; a handler that should never answer can wait on it. */
  signal: AbortSignal;
}

/**
 * What a handler returns: a `Response` as-is, `{ status, body }` (body: string sent verbatim, anything
 * else JSON-encoded), or any other value sent as a JSON 200 answer.
 */
export type AuthReply = Response | { status: number; body?: unknown } | Record<string, unknown>;

/** A running auth server. */
export interface AuthServer {
  /** `127.0.0.1:<port>` — the form nsqd turns into `http://127.0.0.1:<port>/auth`. */
  readonly address: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` (append a path to pass a full-URL `--auth-http-address`). */
  readonly origin: string;
  /** Every request received, in order. */
  readonly requests: AuthServerRequest[];
  /** Stops the server; handlers waiting on `signal` are released first. */
  close(): Promise<void>;
}

/** A grant body: `{"ttl":…,"identity":…,"identity_url":…,"authorizations":[…]}`. */
export function grant(
  authorizations: { topic: string; channels: string[]; permissions: string[] }[],
  opts: { ttl?: number; identity?: string; identity_url?: string } = {},
): Record<string, unknown> {
  return {
    ttl: opts.ttl ?? 3600,
    identity: opts.identity ?? "test-identity",
    identity_url: opts.identity_url ?? "https://example.invalid/test-identity",
    authorizations,
  };
}

/** Starts an auth server on 127.0.0.1 with an OS-assigned port. */
export function startAuthServer(
  handler: (req: AuthServerRequest) => AuthReply | Promise<AuthReply> = () => grant([]),
): AuthServer {
  const requests: AuthServerRequest[] = [];
  const closing = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      const body = await request.text();
      const params: Record<string, string> = {};
      if (request.method === "POST") {
        try {
          for (const [k, v] of Object.entries(JSON.parse(body) as Record<string, string[]>)) params[k] = v[0];
        } catch { /* not url.Values JSON */ }
      } else {
        for (const [k, v] of url.searchParams) params[k] ??= v;
      }
      const req: AuthServerRequest = {
        method: request.method,
        path: url.pathname,
        rawQuery: url.search.slice(1),
        headers: request.headers,
        body,
        params,
        signal: closing.signal,
      };
      requests.push(req);
      return toResponse(await handler(req));
    },
  );
  const port = server.addr.port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    origin: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      closing.abort();
      await server.shutdown();
    },
  };
}

/** Resolves when `signal` aborts (for handlers that must never answer before the server closes). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

/** A `127.0.0.1:<port>` nothing listens on (bound then released, so connects are refused). */
export function deadAddress(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return `127.0.0.1:${port}`;
}

function toResponse(reply: AuthReply): Response {
  if (reply instanceof Response) return reply;
  if (typeof reply.status === "number" && Object.keys(reply).every((k) => k === "status" || k === "body")) {
    const { status, body } = reply as { status: number; body?: unknown };
    const text = typeof body === "string" ? body : body === undefined ? "" : JSON.stringify(body);
    return new Response(text, { status, headers: { "Content-Type": "application/json" } });
  }
  return Response.json(reply);
}
