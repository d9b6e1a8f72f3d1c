/** `host:port` listen addresses as Go's net package reads and prints them. */
import type { NetAddr } from "../platform/types.ts";

/** Splits `host:port` (`[v6]:port`, `:port` = all interfaces). Throws a RangeError when malformed. */
export function parseHostPort(addr: string): NetAddr {
  const i = addr.lastIndexOf(":");
  if (i < 0) throw new RangeError(`address ${addr}: missing port in address`);
  let host = addr.slice(0, i);
  const portText = addr.slice(i + 1);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const port = Number(portText);
  if (!/^[0-9]+$/.test(portText) || port > 65535) throw new RangeError(`address ${addr}: invalid port`);
  return { hostname: host === "" ? "0.0.0.0" : host, port };
}

/** How Go prints a listener's address: the unspecified address as `[::]`, IPv6 in brackets. */
export function formatListenAddr(a: NetAddr): string {
  if (a.hostname === "0.0.0.0" || a.hostname === "::" || a.hostname === "") return `[::]:${a.port}`;
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

/** Go's `net.Addr.String()` of a peer: `ip:port`, IPv6 in brackets, IPv4-mapped IPv6 as IPv4. */
export function formatPeerAddr(a: NetAddr): string {
  let host = a.hostname;
  if (host.startsWith("::ffff:") && host.includes(".")) host = host.slice(7);
  return host.includes(":") ? `[${host}]:${a.port}` : `${host}:${a.port}`;
}
