/**
 * Asking nsqlookupd where a topic lives (go-nsq `consumer.go` `buildLookupAddr`, `queryLookupd`,
 * shared/nsq-reference.md §9.4): `GET /lookup?topic=<t>` with nsq's v1 Accept header, answered
 * with the producers' `broadcast_address:tcp_port`. Uses `fetch`, which both runtimes have.
 */
import { NsqConnectionError } from "./errors.ts";

/**
 * The lookup URL of an nsqlookupd HTTP address: `http://` added when no scheme is given, `/lookup`
 * when the path is empty or `/`, and `topic=<topic>` in the query.
 *
 * @throws {TypeError} the address has no port (`missing port`) or does not parse
 */
export function lookupUrl(address: string, topic: string): string {
  const withScheme = address.includes("://") ? address : `http://${address}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (err) {
    throw new TypeError(`invalid nsqlookupd address "${address}"`, { cause: err });
  }
  // URL drops a scheme's default port; go-nsq asks for one to be written.
  if (!/^[a-z][a-z0-9+.-]*:\/\/(\[[^\]]*\]|[^/:?#]*):\d+/i.test(withScheme)) {
    throw new TypeError(`invalid nsqlookupd address "${address}": missing port`);
  }
  if (url.pathname === "" || url.pathname === "/") url.pathname = "/lookup";
  url.searchParams.set("topic", topic);
  return url.toString();
}

/**
 * The nsqd TCP addresses nsqlookupd lists for the topic of `url`.
 * @param options `timeoutMs` for the whole request; `authSecret` sent as a Bearer token when set
 * @throws {NsqConnectionError} the request failed, timed out or was answered with a non-200 status
 */
export async function queryLookupd(
  url: string,
  options: { timeoutMs: number; authSecret?: string },
): Promise<string[]> {
  const headers: Record<string, string> = { Accept: "application/vnd.nsq; version=1.0" };
  if (options.authSecret) headers.Authorization = `Bearer ${options.authSecret}`;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      headers,
      signal: options.timeoutMs > 0 ? AbortSignal.timeout(options.timeoutMs) : undefined,
    });
    text = await res.text();
  } catch (err) {
    throw new NsqConnectionError(`error querying nsqlookupd (${url}) - ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (res.status !== 200) {
    throw new NsqConnectionError(
      `error querying nsqlookupd (${url}) - got response ${res.status} ${JSON.stringify(text)}`,
    );
  }
  let body: { producers?: { broadcast_address?: string; tcp_port?: number }[]; data?: unknown };
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new NsqConnectionError(`error querying nsqlookupd (${url}) - invalid JSON`, { cause: err });
  }
  // Before nsq 1.0 (no X-NSQ-Content-Type header) the answer came wrapped in a v0 envelope.
  if (res.headers.get("x-nsq-content-type") === null && body.data && typeof body.data === "object") {
    body = body.data as typeof body;
  }
  const out: string[] = [];
  for (const p of body.producers ?? []) {
    if (typeof p.broadcast_address !== "string" || typeof p.tcp_port !== "number") continue;
    const host = p.broadcast_address.includes(":") ? `[${p.broadcast_address}]` : p.broadcast_address;
    out.push(`${host}:${p.tcp_port}`);
  }
  return out;
}
