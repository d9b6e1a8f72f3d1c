/**
 * Local declarations of only the Bun APIs the platform uses, so the code type-checks under
 * `deno check` without Bun's type package (after hono's `deno.d.ts`-style declarations).
 */

export interface BunSocket<T> {
  data: T;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Returns the number of bytes written (the rest is dropped), or -1 when closed. */
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  end(): void;
  terminate(): void;
  setNoDelay(noDelay?: boolean): boolean;
  /** TLS upgrade of an accepted (server side) or dialled (client side) socket; returns [raw, tls]. */
  upgradeTLS<U>(options: {
    data: U;
    tls: BunTlsOptions;
    socket: BunSocketHandler<U> & {
      handshake?(socket: BunSocket<U>, success: boolean, authorizationError: Error | null): void;
    };
  }): [BunSocket<U>, BunSocket<U>];
  getPeerCertificate?(): unknown;
  getCipher?(): unknown;
  getTLSVersion?(): unknown;
}

/** The `tls` options of `upgradeTLS` that the platform uses. */
export interface BunTlsOptions {
  key?: string;
  cert?: string;
  ca?: string;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  /** OpenSSL `SSL_OP_*` bits (the way to set a minimum version: Bun ignores `minVersion` here). */
  secureOptions?: number;
  /** Client side: SNI and the name the server certificate must match. */
  serverName?: string;
}

export interface BunSocketHandler<T> {
  open?(socket: BunSocket<T>): void;
  data?(socket: BunSocket<T>, data: Uint8Array): void;
  drain?(socket: BunSocket<T>): void;
  end?(socket: BunSocket<T>): void;
  close?(socket: BunSocket<T>, error?: Error): void;
  error?(socket: BunSocket<T>, error: Error): void;
  connectError?(socket: BunSocket<T>, error: Error): void;
}

export interface BunTCPListener {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

export interface BunServer {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
  requestIP(req: Request): { address: string; port: number } | null;
}

export interface BunRuntime {
  readonly version: string;
  /** Standard output and input as Bun files. */
  readonly stdout: unknown;
  readonly stdin: { stream(): ReadableStream<Uint8Array> };
  write(destination: unknown, data: Uint8Array): Promise<number>;
  listen<T>(options: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    socket: BunSocketHandler<T>;
  }): BunTCPListener;
  connect<T>(options: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    socket: BunSocketHandler<T>;
  }): Promise<BunSocket<T>>;
  serve(options: {
    hostname: string;
    port: number;
    tls?: { key: string; cert: string; secureOptions?: number };
    fetch(req: Request, server: BunServer): Response | Promise<Response>;
  }): BunServer;
}

export interface NodeProcess {
  on(event: string, handler: () => void): void;
  off(event: string, handler: () => void): void;
  exit(code: number): never;
  readonly argv: string[];
  readonly argv0: string;
  readonly stderr: { write(text: string): boolean };
}
