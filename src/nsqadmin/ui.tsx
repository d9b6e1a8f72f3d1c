/** @jsxImportSource hono/jsx */
/**
 * nsqadmin's web UI, rendered on the server with Hono's JSX (shared/nsq-reference.md §11.7, STYLE
 * §9): the page reads the same aggregates as the API, so it works without JavaScript; a small inline
 * script only sends the admin actions to the JSON API and reloads. No external assets.
 *
 * Pages so far: Streams (`/`, the topic list) and Topic (`/topics/:topic`).
 */
import type { Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import { route } from "../internal/http_api.ts";
import { BINARY_VERSION } from "../internal/version.ts";
import { aggregateTopic, ClusterError, type TopicStats } from "./cluster_info.ts";
import type { Nsqadmin } from "./nsqadmin.ts";

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
nav{background:#2c3e50;padding:.6em 1em}nav a{color:#fff;margin-right:1.2em;text-decoration:none}
nav .version{float:right;color:#bbb}
main{padding:1em 2em}h2{margin:.2em 0 .6em}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.3em .7em;text-align:right}
th:first-child,td:first-child{text-align:left}tr.total td{font-weight:bold;background:#f4f4f4}
.warning{background:#fcf8e3;border:1px solid #e5d08c;padding:.6em 1em;margin-bottom:1em}
.error{background:#f2dede;border:1px solid #d9a5a5;padding:.6em 1em;margin-bottom:1em}
.paused{background:#e67e22;color:#fff;border-radius:3px;padding:0 .4em;font-size:.85em;margin-left:.4em}
button{margin-right:.5em}ul.topics{list-style:none;padding:0}ul.topics li{padding:.2em 0}
`;

const SCRIPT = `
document.addEventListener("click", async (e) => {
  const b = e.target.closest("button[data-method]");
  if (!b || !confirm(b.dataset.confirm)) return;
  const res = await fetch(b.dataset.url, { method: b.dataset.method, headers: { "Content-Type": "application/json" },
    body: b.dataset.body || undefined });
  const msg = (await res.json().catch(() => ({}))).message;
  if (!res.ok || msg) alert(msg || res.status);
  location.href = b.dataset.next || location.href;
});
`;

/** Adds the UI pages to the admin app. */
export function installUiRoutes(app: Hono, admin: Nsqadmin): void {
  const base = admin.basePath;
  const o = admin.options;
  const ci = admin.cluster;
  const isAdmin = (c: Context) =>
    o.adminUsers.length === 0 || o.adminUsers.includes(c.req.header(o.aclHttpHeader) ?? "");
  const page = (title: string, body: Child, status = 200) =>
    new Response(
      "<!DOCTYPE html>" +
        (
          <html lang="en">
            <head>
              <meta charset="utf-8" />
              <title>{`nsqadmin - ${title}`}</title>
              <style dangerouslySetInnerHTML={{ __html: STYLE }} />
            </head>
            <body>
              <nav>
                <a href={`${base}/`}>Streams</a>
                <span class="version">nsqadmin v{BINARY_VERSION}</span>
              </nav>
              <main>{body}</main>
              <script dangerouslySetInnerHTML={{ __html: SCRIPT }} />
            </body>
          </html>
        ).toString(),
      { status, headers: { "Content-Type": "text/html; charset=utf-8" } },
    );
  const failed = (title: string, err: unknown) => {
    if (!(err instanceof ClusterError)) throw err;
    return page(title, <div class="error">{`UPSTREAM_ERROR: ${err.message}`}</div>, 502);
  };

  route(app, `${base}/`, {
    GET: async () => {
      try {
        const lookupds = o.nsqlookupdHttpAddresses;
        const r = lookupds.length > 0
          ? await ci.getLookupdTopics(lookupds)
          : await ci.getNsqdTopics(o.nsqdHttpAddresses);
        return page(
          "Streams",
          <>
            <Warnings errors={r.errors} />
            <h2>Topics</h2>
            {r.value.length === 0 ? <p>No topics.</p> : (
              <ul class="topics">
                {r.value.map((t) => (
                  <li>
                    <a href={`${base}/topics/${encodeURIComponent(t)}`}>{t}</a>
                  </li>
                ))}
              </ul>
            )}
          </>,
        );
      } catch (err) {
        return failed("Streams", err);
      }
    },
  });

  route(app, `${base}/topics/:topic`, {
    GET: async (c) => {
      const topic = (c.req.param as (n: string) => string | undefined)("topic") ?? "";
      try {
        const producers = await ci.getTopicProducers(topic, o.nsqlookupdHttpAddresses, o.nsqdHttpAddresses);
        const stats = await ci.getNsqdStats(producers.value, topic, "", false);
        const agg = aggregateTopic(topic, stats.value.topics);
        const api = `${base}/api/topics/${encodeURIComponent(topic)}`;
        return page(
          topic,
          <>
            <Warnings errors={[...producers.errors, ...stats.errors]} />
            <h2>
              Topic: {topic}
              {agg.paused ? <span class="paused">paused</span> : null}
            </h2>
            {isAdmin(c)
              ? (
                <p class="actions">
                  <ActionButton label="Empty Queue" url={api} method="POST" body='{"action":"empty"}' />
                  <ActionButton
                    label={agg.paused ? "UnPause Topic" : "Pause Topic"}
                    url={api}
                    method="POST"
                    body={agg.paused ? '{"action":"unpause"}' : '{"action":"pause"}'}
                  />
                  <ActionButton label="Delete Topic" url={api} method="DELETE" next={`${base}/`} />
                </p>
              )
              : null}
            {agg.nodes!.length === 0
              ? <p class="warning">No producers exist for this topic.</p>
              : <TopicTable topic={agg} />}
            <h2>Channels</h2>
            {agg.channels.length === 0 ? <p>No channels.</p> : <ChannelTable topic={agg} />}
          </>,
        );
      } catch (err) {
        return failed(topic, err);
      }
    },
  });
}

function Warnings(props: { errors: string[] }) {
  if (props.errors.length === 0) return null;
  return <div class="warning">{`WARNING: ${props.errors.join("; ")}`}</div>;
}

function ActionButton(props: { label: string; url: string; method: string; body?: string; next?: string }) {
  return (
    <button
      type="button"
      data-url={props.url}
      data-method={props.method}
      data-body={props.body}
      data-next={props.next}
      data-confirm={`Are you sure you want to ${props.label.toLowerCase()}?`}
    >
      {props.label}
    </button>
  );
}

function TopicTable(props: { topic: TopicStats }) {
  const row = (t: TopicStats, total: boolean) => (
    <tr class={total ? "total" : undefined}>
      <td>
        {total ? "Total" : t.node}
        {!total && t.paused ? <span class="paused">paused</span> : null}
      </td>
      <td>{t.depth}</td>
      <td>{`${t.memory_depth} + ${t.backend_depth}`}</td>
      <td>{t.message_count}</td>
      <td>{t.channels.length}</td>
    </tr>
  );
  return (
    <table class="topic-nodes">
      <tr>
        <th>NSQd Host</th>
        <th>Depth</th>
        <th>Memory + Disk</th>
        <th>Messages</th>
        <th>Channels</th>
      </tr>
      {props.topic.nodes!.map((n) => row(n, false))}
      {row(props.topic, true)}
    </table>
  );
}

function ChannelTable(props: { topic: TopicStats }) {
  return (
    <table class="channels">
      <tr>
        <th>Channel</th>
        <th>Depth</th>
        <th>Memory + Disk</th>
        <th>In-Flight</th>
        <th>Deferred</th>
        <th>Requeued</th>
        <th>Timed Out</th>
        <th>Messages</th>
        <th>Connections</th>
      </tr>
      {props.topic.channels.map((ch) => (
        <tr>
          <td>
            {ch.channel_name}
            {ch.paused ? <span class="paused">paused</span> : null}
          </td>
          <td>{ch.depth}</td>
          <td>{`${ch.memory_depth} + ${ch.backend_depth}`}</td>
          <td>{ch.in_flight_count}</td>
          <td>{ch.deferred_count}</td>
          <td>{ch.requeue_count}</td>
          <td>{ch.timeout_count}</td>
          <td>{ch.message_count}</td>
          <td>{ch.client_count}</td>
        </tr>
      ))}
    </table>
  );
}
