/**
 * Connections over `node:net` / `node:tls`, for what a runtime has no native API for: on Deno, a
 * server-side TLS upgrade of an accepted socket (`Deno.startTls` is client-only), and a client-side
 * upgrade with a client certificate or without verification (`Deno.startTls` has neither). Deno's
 * node:net is slower than `Deno.listen` for bulk traffic (shared/PLATFORM-FACTS.md), so it is used
 * only when nsqd offers TLS or a client asks for it. Per PLATFORM-FACTS, the plain socket must be
 * paused before it is wrapped, and wrapped in the same tick as the plain reply.
 */
import net from "node:net";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import type {
  Conn,
  Listener,
  NetAddr,
  SocketEvents,
  TlsClientConfig,
  TlsInfo,
  TlsServerConfig,
} from "./types.ts";

const HANDSHAKE_TIMEOUT_MS = 5000;

/** Go's name of a TLS protocol version. */
export function goTlsVersion(v: string | null | undefined): string {
  switch (v) {
    case "TLSv1":
      return "TLS1.0";
    case "TLSv1.1":
      return "TLS1.1";
    case "TLSv1.2":
      return "TLS1.2";
    case "TLSv1.3":
      return "TLS1.3";
  }
  return v ?? "";
}

/**
 * Whether the client certificate was issued by one of the CAs (a PEM bundle) and is within its
 * validity period. Deno's node:tls does not verify client certificates of a hand-made server
 * TLSSocket (it reports `authorized: false` without an error), so nsqd checks them itself.
 */
export function verifiedByCa(
  peer: { raw?: Uint8Array } | null | undefined,
  caBundle: string | undefined,
): boolean {
  if (!peer?.raw || caBundle === undefined) return false;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(peer.raw);
  } catch {
    return false;
  }
  const now = Date.now();
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) return false;
  for (const pem of caBundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) {
    try {
      const ca = new X509Certificate(pem);
      if (cert.checkIssued(ca) && cert.verify(ca.publicKey)) return true;
    } catch { /* not a usable certificate */ }
  }
  return false;
}

/** Node's `tls` options for a server-side TLS socket. */
export function nodeTlsOptions(config: TlsServerConfig): tls.TlsOptions {
  return {
    key: config.key,
    cert: config.cert,
    ca: config.ca,
    requestCert: config.clientAuth !== "none",
    rejectUnauthorized: config.clientAuth === "require-verify",
    minVersion: config.minVersion,
  };
}

/** A socket of node:net (later node:tls) as a `Conn`. */
export class NodeConn implements Conn {
  readonly remoteAddr: NetAddr;
  readonly localAddr: NetAddr;
  #sock: net.Socket;
  #events!: SocketEvents;
  #closed = false;

  constructor(sock: net.Socket) {
    this.#sock = sock;
    this.remoteAddr = { hostname: sock.remoteAddress ?? "", port: sock.remotePort ?? 0 };
    this.localAddr = { hostname: sock.localAddress ?? "", port: sock.localPort ?? 0 };
    sock.setNoDelay(true);
  }

  start(events: SocketEvents): void {
    this.#events = events;
    this.#attach(this.#sock);
  }

  get pendingBytes(): number {
    return this.#sock.writableLength;
  }

  write(bytes: Uint8Array): void {
    if (this.#closed || bytes.length === 0) return;
    // node:net keeps a reference until written: copy, since the caller reuses its buffer.
    this.#sock.write(bytes.slice());
  }

  close(): void {
    if (this.#closed) return;
    this.#sock.end();
  }

  destroy(): void {
    this.#sock.destroy();
  }

  upgradeTls(config: TlsServerConfig): Promise<TlsInfo> {
    const plain = this.#detachPlain();
    const secure = new tls.TLSSocket(plain, { isServer: true, ...nodeTlsOptions(config) });
    this.#sock = secure;
    return new Promise<TlsInfo>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error("TLS handshake timeout"));
        secure.destroy();
      }, HANDSHAKE_TIMEOUT_MS);
      secure.once("secure", () => {
        clearTimeout(timer);
        const peer = secure.getPeerCertificate();
        const hasPeer = peer !== null && Object.keys(peer ?? {}).length > 0;
        // A TLSSocket made by hand does not enforce rejectUnauthorized (only tls.Server does).
        if (config.clientAuth === "require-verify" && !secure.authorized && !verifiedByCa(peer, config.ca)) {
          reject(new Error(`tls: ${secure.authorizationError ?? "client certificate not verified"}`));
          secure.destroy();
          return;
        }
        if (config.clientAuth !== "none" && !hasPeer) {
          reject(new Error("tls: client didn't provide a certificate"));
          secure.destroy();
          return;
        }
        resolve({
          version: goTlsVersion(secure.getProtocol()),
          cipherSuite: secure.getCipher()?.standardName ?? secure.getCipher()?.name ?? "",
          peerCommonName: hasPeer ? String(peer.subject?.CN ?? "") : "",
          peerCertificate: hasPeer,
        });
      });
      secure.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      // Deno's node:tls closes without an error when it refuses the client's versions.
      secure.once("close", () => {
        clearTimeout(timer);
        reject(new Error("connection closed during the handshake (no protocol version in common?)"));
      });
      this.#attach(secure);
    });
  }

  startTls(config: TlsClientConfig): Promise<TlsInfo> {
    const plain = this.#detachPlain();
    const secure = tls.connect({
      socket: plain,
      // The name checked against the certificate; SNI only for a DNS name (RFC 6066).
      host: config.serverName,
      servername: net.isIP(config.serverName) === 0 ? config.serverName : undefined,
      ca: config.ca,
      cert: config.cert,
      key: config.key,
      rejectUnauthorized: !config.insecureSkipVerify,
    });
    this.#sock = secure;
    return new Promise<TlsInfo>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error("TLS handshake timeout"));
        secure.destroy();
      }, HANDSHAKE_TIMEOUT_MS);
      secure.once("secureConnect", () => {
        clearTimeout(timer);
        const peer = secure.getPeerCertificate();
        const hasPeer = peer !== null && Object.keys(peer ?? {}).length > 0;
        resolve({
          version: goTlsVersion(secure.getProtocol()),
          cipherSuite: secure.getCipher()?.standardName ?? secure.getCipher()?.name ?? "",
          peerCommonName: hasPeer ? String(peer.subject?.CN ?? "") : "",
          peerCertificate: hasPeer,
        });
      });
      secure.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      this.#attach(secure);
    });
  }

  /** Stops the plain socket's events before it is wrapped (the TLS socket takes over). */
  #detachPlain(): net.Socket {
    const plain = this.#sock;
    plain.pause();
    plain.removeAllListeners("data");
    plain.removeAllListeners("end");
    plain.removeAllListeners("close");
    plain.removeAllListeners("drain");
    return plain;
  }

  #attach(sock: net.Socket): void {
    sock.on("data", (chunk: Uint8Array) => this.#events.data(chunk));
    sock.on("drain", () => this.#events.drain());
    sock.on("end", () => this.#events.end());
    sock.on("error", () => {/* close follows */});
    sock.on("close", () => {
      if (this.#closed) return;
      this.#closed = true;
      this.#events.close();
    });
  }
}

/** A node:net TCP listener whose connections can be upgraded to TLS. */
export function nodeListen(addr: NetAddr, onConn: (conn: Conn) => SocketEvents): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true }, (sock) => {
      const conn = new NodeConn(sock);
      conn.start(onConn(conn));
    });
    server.once("error", reject);
    server.listen(addr.port, addr.hostname, () => {
      const a = server.address() as net.AddressInfo;
      resolve({
        addr: { hostname: a.address, port: a.port },
        // Stop accepting; open connections are closed by their owner (server.close's callback
        // would wait for them).
        close: () => {
          server.close();
          return Promise.resolve();
        },
      });
    });
  });
}

/** Dials a node:net TCP connection whose `startTls` upgrades it with node:tls. */
export function nodeConnect(addr: NetAddr, events: (conn: Conn) => SocketEvents): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: addr.hostname, port: addr.port, allowHalfOpen: true });
    sock.once("error", reject);
    sock.once("connect", () => {
      sock.off("error", reject);
      const conn = new NodeConn(sock);
      conn.start(events(conn));
      resolve(conn);
    });
  });
}
