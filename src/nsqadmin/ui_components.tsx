/** @jsxImportSource hono/jsx */
/**
 * The pieces the UI pages are made of (`ui.tsx` puts them together): the page shell, tables of
 * topics, channels, clients and nodes in upstream's columns (shared/nsq-reference.md §11.7), action
 * buttons that ask for confirmation, and chart placeholders the client script draws into.
 */
import type { Child } from "hono/jsx";
import { BINARY_VERSION } from "../internal/version.ts";
import type { ChannelStats, ClientStats, Producer, TopicStats } from "./cluster_info.ts";
import { httpAddress } from "./cluster_info.ts";
import { UI_FAVICON, UI_SCRIPT, UI_STYLE } from "./ui_assets.ts";

/** The whole document of one page. */
export function pageHtml(
  props: { base: string; title: string; section: string; refreshMs: number; body: Child },
): string {
  const { base } = props;
  const link = (href: string, label: string, section: string) => (
    <a href={`${base}${href}`} class={props.section === section ? "current" : undefined}>{label}</a>
  );
  return "<!DOCTYPE html>" + (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`nsqadmin - ${props.title}`}</title>
        <link rel="icon" href={UI_FAVICON} />
        <style dangerouslySetInnerHTML={{ __html: UI_STYLE }} />
      </head>
      <body data-refresh={props.refreshMs > 0 ? String(props.refreshMs) : undefined}>
        <nav>
          <span class="brand">NSQ</span>
          {link("/", "Streams", "streams")}
          {link("/nodes", "Nodes", "nodes")}
          {link("/counter", "Counter", "counter")}
          {link("/lookup", "Lookup", "lookup")}
          <span id="live"></span>
          <span class="version">nsqadmin v{BINARY_VERSION}</span>
        </nav>
        <main>{props.body}</main>
        <dialog id="confirm">
          <form method="dialog">
            <p class="question"></p>
            <div class="buttons">
              <button type="submit" value="cancel">Cancel</button>
              <button type="submit" value="ok" class="danger">Confirm</button>
            </div>
          </form>
        </dialog>
        <script dangerouslySetInnerHTML={{ __html: UI_SCRIPT }} />
      </body>
    </html>
  ).toString();
}

/** Partial failures, as upstream's yellow box. */
export function Warnings(props: { errors: string[] }) {
  if (props.errors.length === 0) return null;
  return <div class="warning">{`WARNING: ${props.errors.join("; ")}`}</div>;
}

/** A button that asks "Are you sure…?" and then calls the JSON API. */
export function ActionButton(
  props: {
    label: string;
    url: string;
    method: string;
    body?: string;
    next?: string;
    confirm?: string;
    x?: boolean;
  },
) {
  return (
    <button
      type="button"
      class={props.x
        ? "x"
        : props.method === "DELETE" || props.label.startsWith("Empty")
        ? "danger"
        : undefined}
      title={props.x ? props.confirm : undefined}
      data-url={props.url}
      data-method={props.method}
      data-body={props.body}
      data-next={props.next}
      data-confirm={props.confirm ?? `Are you sure you want to ${props.label.toLowerCase()}?`}
    >
      {props.label}
    </button>
  );
}

/** A scrolling box around a table, so a wide table does not widen a phone's page. */
export function Scroll(props: { children?: Child }) {
  return <div class="scroll">{props.children}</div>;
}

/** Where the client script draws live rate and depth charts from successive renders. */
export function Chart(
  props: { id: string; counters: Record<string, number>; gauges?: Record<string, number>; spark?: boolean },
) {
  return (
    <div
      class={props.spark ? "chart spark" : "chart"}
      data-chart={props.id}
      data-at={String(Date.now())}
      data-counters={JSON.stringify(props.counters)}
      data-gauges={JSON.stringify(props.gauges ?? {})}
    >
    </div>
  );
}

/** Messages that left a channel for good (finished, or emptied): what went in minus what is still there. */
export function consumed(ch: ChannelStats): number {
  return Math.max(0, ch.message_count - ch.depth - ch.in_flight_count - ch.deferred_count);
}

/** In-flight and deferred of a topic: its channels' sums. */
export function topicInFlight(t: TopicStats): { inFlight: number; deferred: number } {
  let inFlight = 0;
  let deferred = 0;
  for (const ch of t.channels) {
    inFlight += ch.in_flight_count;
    deferred += ch.deferred_count;
  }
  return { inFlight, deferred };
}

/** A duration in ns as `1h02m03s`, `4m05s` or `6s`. */
export function formatAge(ns: number): string {
  const s = Math.max(0, Math.floor(ns / 1e9));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (h > 0) return `${h}h${pad(m)}m${pad(sec)}s`;
  if (m > 0) return `${m}m${pad(sec)}s`;
  return `${sec}s`;
}

export function Paused(props: { paused: boolean }) {
  return props.paused ? <span class="label paused">paused</span> : null;
}

/** Per-nsqd rows of a topic, then the total; `tombstone(node)` gives the ✘ button of a row. */
export function TopicNodesTable(props: { topic: TopicStats; tombstone?: (node: string) => Child }) {
  const row = (t: TopicStats, total: boolean) => {
    const f = topicInFlight(t);
    return (
      <tr class={total ? "total" : undefined}>
        <td>
          {total ? "Total" : t.node}
          {total ? null : <Paused paused={t.paused} />}
          {total || !props.tombstone ? null : props.tombstone(t.node)}
        </td>
        <td>{t.depth}</td>
        <td>{`${t.memory_depth} + ${t.backend_depth}`}</td>
        <td>{f.inFlight}</td>
        <td>{f.deferred}</td>
        <td>{t.message_count}</td>
        <td>{t.channels.length}</td>
      </tr>
    );
  };
  return (
    <Scroll>
      <table class="topic-nodes">
        <tr>
          <th>NSQd Host</th>
          <th>Depth</th>
          <th>Memory + Disk</th>
          <th>In-Flight</th>
          <th>Deferred</th>
          <th>Messages</th>
          <th>Channels</th>
        </tr>
        {props.topic.nodes!.map((n) => row(n, false))}
        {row(props.topic, true)}
      </table>
    </Scroll>
  );
}

const CHANNEL_HEADERS = [
  "Depth",
  "Memory + Disk",
  "In-Flight",
  "Deferred",
  "Requeued",
  "Timed Out",
  "Messages",
  "Connections",
];

function channelCells(ch: ChannelStats) {
  return (
    <>
      <td>{ch.depth}</td>
      <td>{`${ch.memory_depth} + ${ch.backend_depth}`}</td>
      <td>{ch.in_flight_count}</td>
      <td>{ch.deferred_count}</td>
      <td>{ch.requeue_count}</td>
      <td>{ch.timeout_count}</td>
      <td>{ch.message_count}</td>
      <td>{ch.client_count}</td>
    </>
  );
}

/** A topic's channels, each linking to its page. */
export function ChannelsTable(props: { base: string; topic: TopicStats }) {
  const t = encodeURIComponent(props.topic.topic_name);
  return (
    <Scroll>
      <table class="channels">
        <tr>
          <th>Channel</th>
          {CHANNEL_HEADERS.map((h) => <th key={h}>{h}</th>)}
        </tr>
        {props.topic.channels.map((ch) => (
          <tr>
            <td>
              <a href={`${props.base}/topics/${t}/${encodeURIComponent(ch.channel_name)}`}>
                {ch.channel_name}
              </a>
              <Paused paused={ch.paused} />
            </td>
            {channelCells(ch)}
          </tr>
        ))}
      </table>
    </Scroll>
  );
}

/** A channel's per-nsqd rows, then the total. */
export function ChannelNodesTable(props: { channel: ChannelStats }) {
  return (
    <Scroll>
      <table class="channel-nodes">
        <tr>
          <th>NSQd Host</th>
          {CHANNEL_HEADERS.map((h) => <th key={h}>{h}</th>)}
        </tr>
        {(props.channel.nodes ?? []).map((n) => (
          <tr>
            <td>
              {n.node}
              <Paused paused={n.paused} />
            </td>
            {channelCells(n)}
          </tr>
        ))}
        <tr class="total">
          <td>Total</td>
          {channelCells(props.channel)}
        </tr>
      </table>
    </Scroll>
  );
}

function clientAttributes(c: ClientStats): string[] {
  const out: string[] = [];
  if (Number(c.sample_rate) > 0) out.push(`Sampled ${c.sample_rate}%`);
  if (c.tls) out.push(c.tls_version ? `TLS ${c.tls_version}` : "TLS");
  if (c.deflate) out.push("Deflate");
  if (c.snappy) out.push("Snappy");
  if (c.authed) out.push(c.auth_identity ? `Authed ${c.auth_identity}` : "Authed");
  return out;
}

/** Every consumer connection of a channel. */
export function ClientsTable(props: { clients: ClientStats[] }) {
  return (
    <Scroll>
      <table class="clients">
        <tr>
          <th>Client Host</th>
          <th class="text">User-Agent</th>
          <th class="text">Attributes</th>
          <th class="text">NSQd Host</th>
          <th>RDY</th>
          <th>In-Flight</th>
          <th>Finished</th>
          <th>Requeued</th>
          <th>Messages</th>
          <th>Connected</th>
        </tr>
        {props.clients.map((c) => {
          const host = String(c.hostname || c.remote_address);
          const id = String(c.client_id ?? "");
          return (
            <tr>
              <td>
                {host}
                {id !== "" && id !== host ? ` (${id})` : ""}
                <br />
                <small>{String(c.remote_address)}</small>
              </td>
              <td class="text">{String(c.user_agent || "")}</td>
              <td class="text">{clientAttributes(c).map((a) => <span key={a} class="label">{a}</span>)}</td>
              <td class="text">{String(c.node)}</td>
              <td>{Number(c.ready_count)}</td>
              <td>{Number(c.in_flight_count)}</td>
              <td>{Number(c.finish_count)}</td>
              <td>{Number(c.requeue_count)}</td>
              <td>{Number(c.message_count)}</td>
              <td>{formatAge(Number(c.connected))}</td>
            </tr>
          );
        })}
      </table>
    </Scroll>
  );
}

/** The nsqds of the cluster (`/api/nodes`). */
export function NodesTable(props: { base: string; nodes: Producer[]; lookupds: number }) {
  return (
    <Scroll>
      <table class="nodes">
        <tr>
          <th>Hostname</th>
          <th class="text">Broadcast Address</th>
          <th>TCP Port</th>
          <th>HTTP Port</th>
          <th class="text">Version</th>
          {props.lookupds > 0 ? <th>Lookupd Conns.</th> : null}
          <th class="text">Topics</th>
        </tr>
        {props.nodes.map((p) => (
          <tr class={p.out_of_date ? "outdated" : undefined}>
            <td>{p.hostname}</td>
            <td class="text">
              <a href={`${props.base}/nodes/${encodeURIComponent(httpAddress(p))}`}>{p.broadcast_address}</a>
            </td>
            <td>{p.tcp_port}</td>
            <td>{p.http_port}</td>
            <td class="text">
              {p.version}
              {p.out_of_date ? <span class="label outdated">out of date</span> : null}
            </td>
            {props.lookupds > 0
              ? <td title={(p.remote_addresses ?? []).join("\n")}>{(p.remote_addresses ?? []).length}</td>
              : null}
            <td class="text">
              {(p.topics ?? []).map((t) => (
                <a
                  class={t.tombstoned ? "label tombstoned" : "label"}
                  href={`${props.base}/topics/${encodeURIComponent(t.topic)}`}
                  title={t.tombstoned ? "tombstoned" : undefined}
                >
                  {t.topic}
                </a>
              ))}
            </td>
          </tr>
        ))}
      </table>
    </Scroll>
  );
}
