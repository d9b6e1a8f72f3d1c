/**
 * UDP sending through `node:dgram`, which both runtimes implement (used for statsd). Kept in the
 * platform so the core depends only on the `UdpSender` interface.
 */
import dgram from "node:dgram";
import type { NetAddr, UdpSender } from "./types.ts";

export function createUdpSender(): UdpSender {
  let socket: dgram.Socket | null = null;
  return {
    send(bytes: Uint8Array, addr: NetAddr): Promise<void> {
      socket ??= dgram.createSocket(addr.hostname.includes(":") ? "udp6" : "udp4");
      const s = socket;
      return new Promise((resolve, reject) => {
        s.send(bytes, addr.port, addr.hostname, (err) => (err ? reject(err) : resolve()));
      });
    },
    close(): void {
      socket?.close();
      socket = null;
    },
  };
}
