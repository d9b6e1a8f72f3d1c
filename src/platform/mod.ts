/**
 * Picks the platform of the runtime we run on. Import `currentPlatform()` at the edges (the CLI,
 * `mod.ts`) and pass the platform in; the core never imports this file.
 */
import type { Platform } from "./types.ts";

export type {
  Conn,
  ConnectOptions,
  FetchHandler,
  HttpsConfig,
  Listener,
  NetAddr,
  Platform,
  SignalName,
  SocketEvents,
  TlsClientConfig,
  TlsInfo,
  UdpSender,
} from "./types.ts";

/** Loads the platform of the running runtime (Bun if `Bun` is defined, else Deno). */
export async function currentPlatform(): Promise<Platform> {
  if ("Bun" in globalThis) return (await import("./bun.ts")).bunPlatform;
  return (await import("./deno.ts")).denoPlatform;
}
