/**
 * HTTPS over `node:https`, for what `Deno.serve` cannot do: refuse TLS 1.2 (`--tls-min-version=tls1.3`;
 * Deno.serve has no version setting, and its TLS stack already refuses anything below 1.2) and report
 * failed handshakes. Requests are handed to the same fetch handler as the native server's.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FetchHandler, HttpsConfig, Listener, NetAddr } from "./types.ts";

/** Serves `fetch` over HTTPS with node:https. */
export function nodeServeHttps(addr: NetAddr, fetch: FetchHandler, tls: HttpsConfig): Promise<Listener> {
  const server = https.createServer(
    { key: tls.key, cert: tls.cert, minVersion: tls.minVersion ?? "TLSv1.2" },
    (req, res) => void handle(req, res, fetch),
  );
  server.on("tlsClientError", (err: Error, sock: { remoteAddress?: string; remotePort?: number }) => {
    tls.onHandshakeError?.(`${sock.remoteAddress ?? ""}:${sock.remotePort ?? 0}`, err.message);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(addr.port, addr.hostname, () => {
      server.off("error", reject);
      const a = server.address() as { address: string; port: number };
      resolve({
        addr: { hostname: a.address, port: a.port },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections?.();
          }),
      });
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, fetch: FetchHandler): Promise<void> {
  try {
    const method = req.method ?? "GET";
    const headers = new Headers();
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    }
    let body: Uint8Array<ArrayBuffer> | undefined;
    if (method !== "GET" && method !== "HEAD") {
      const chunks: Uint8Array[] = [];
      for await (const chunk of req) chunks.push(chunk as Uint8Array);
      body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let off = 0;
      for (const c of chunks) {
        body.set(c, off);
        off += c.length;
      }
    }
    const url = `https://${req.headers.host ?? "localhost"}${req.url ?? "/"}`;
    const response = await fetch(new Request(url, { method, headers, body }), {
      remoteAddr: { hostname: req.socket.remoteAddress ?? "", port: req.socket.remotePort ?? 0 },
    });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body !== null) {
      for await (const chunk of response.body) res.write(chunk);
    }
    res.end();
  } catch {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
}
