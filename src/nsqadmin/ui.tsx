/** @jsxImportSource hono/jsx */
/**
 * nsqadmin's web UI, rendered on the server with Hono's JSX (shared/nsq-reference.md §11.7, STYLE
 * §9): each page reads the same aggregates as the JSON API, so it works without JavaScript; the
 * inline script (`ui_assets.ts`) confirms and sends admin actions, refreshes the page every two
 * seconds and draws live charts from successive renders. No external assets, no build step.
 *
 * Pages: Streams (`/`, `/topics`), Topic, Channel, Nodes, Node, Counter and Lookup, as upstream's.
 */
import type { Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import { route } from "../internal/http_api.ts";
import { aggregateTopic, ClusterError, type Gathered, httpAddress, type TopicStats } from "./cluster_info.ts";
import type { Nsqadmin } from "./nsqadmin.ts";
import {
  ActionButton,
  ChannelNodesTable,
  ChannelsTable,
  Chart,
  ClientsTable,
  consumed,
  NodesTable,
  pageHtml,
  Paused,
  Scroll,
  TopicNodesTable,
  Warnings,
} from "./ui_components.tsx";

/** How often a live page refreshes itself (ms). */
const REFRESH_MS = 2000;

/** Adds the UI pages to the admin app. */
export function installUiRoutes(app: Hono, admin: Nsqadmin): void {
  const base = admin.basePath;
  const o = admin.options;
  const ci = admin.cluster;
  const lookupds = () => o.nsqlookupdHttpAddresses;
  const nsqds = () => o.nsqdHttpAddresses;
  const isAdmin = (c: Context) =>
    o.adminUsers.length === 0 || o.adminUsers.includes(c.req.header(o.aclHttpHeader) ?? "");
  const param = (c: Context, name: string) => (c.req.param as (n: string) => string | undefined)(name) ?? "";
  const enc = encodeURIComponent;

  /** A page route: `render` returns the title and body; a ClusterError becomes a 502 page. */
  const uiPage = (
    path: string,
    section: string,
    render: (c: Context) => Promise<{ title: string; body: Child; refresh?: boolean }>,
  ) =>
    route(app, `${base}${path}`, {
      GET: async (c) => {
        let status = 200;
        let r: { title: string; body: Child; refresh?: boolean };
        try {
          r = await render(c);
        } catch (err) {
          if (!(err instanceof ClusterError)) throw err;
          status = 502;
          r = {
            title: "error",
            body: <div class="error">{`UPSTREAM_ERROR: ${err.message}`}</div>,
            refresh: true,
          };
        }
        const html = pageHtml({
          base,
          section,
          title: r.title,
          refreshMs: r.refresh === false ? 0 : REFRESH_MS,
          body: r.body,
        });
        return new Response(html, { status, headers: { "Content-Type": "text/html; charset=utf-8" } });
      },
    });

  /** Every topic on every nsqd, aggregated by name. */
  const allTopics = async (errors: string[]): Promise<Map<string, TopicStats>> => {
    const producers = collect(await ci.getProducers(lookupds(), nsqds()), errors);
    const stats = collect(await ci.getNsqdStats(producers, "", "", false), errors);
    const byName = new Map<string, TopicStats[]>();
    for (const t of stats.topics) byName.set(t.topic_name, [...(byName.get(t.topic_name) ?? []), t]);
    return new Map([...byName].map(([name, nodes]) => [name, aggregateTopic(name, nodes)]));
  };

  const streams = async () => {
    const errors: string[] = [];
    const names = collect(
      await (lookupds().length > 0 ? ci.getLookupdTopics(lookupds()) : ci.getNsqdTopics(nsqds())),
      errors,
    );
    const stats = await allTopics(errors).catch((err) => {
      if (!(err instanceof ClusterError)) throw err;
      errors.push(err.message);
      return new Map<string, TopicStats>();
    });
    return {
      title: "Streams",
      body: (
        <>
          <Warnings errors={errors} />
          <h2>Topics</h2>
          {names.length === 0 ? <p>No topics.</p> : (
            <Scroll>
              <table class="topics">
                <tr>
                  <th>Topic</th>
                  <th>Depth</th>
                  <th>Messages</th>
                  <th>Channels</th>
                  <th>Nodes</th>
                  <th class="text">Publish rate</th>
                </tr>
                {names.map((name) => {
                  const t = stats.get(name);
                  return (
                    <tr>
                      <td>
                        <a href={`${base}/topics/${enc(name)}`}>{name}</a>
                        {t ? <Paused paused={t.paused} /> : null}
                      </td>
                      <td>{t?.depth ?? "-"}</td>
                      <td>{t?.message_count ?? "-"}</td>
                      <td>{t?.channels.length ?? "-"}</td>
                      <td>{t?.nodes?.length ?? 0}</td>
                      <td class="text">
                        <Chart id={`topic:${name}`} spark counters={{ published: t?.message_count ?? 0 }} />
                      </td>
                    </tr>
                  );
                })}
              </table>
            </Scroll>
          )}
        </>
      ),
    };
  };
  uiPage("/", "streams", streams);
  uiPage("/topics", "streams", streams);

  uiPage("/topics/:topic", "streams", async (c) => {
    const topic = param(c, "topic");
    const errors: string[] = [];
    const producers = collect(await ci.getTopicProducers(topic, lookupds(), nsqds()), errors);
    const stats = collect(await ci.getNsqdStats(producers, topic, "", false), errors);
    const agg = aggregateTopic(topic, stats.topics);
    const api = `${base}/api/topics/${enc(topic)}`;
    const admin = isAdmin(c);
    const counters: Record<string, number> = { published: agg.message_count };
    const gauges: Record<string, number> = { [`${topic} depth`]: agg.depth };
    for (const ch of agg.channels) {
      counters[`${ch.channel_name} consumed`] = consumed(ch);
      gauges[`${ch.channel_name} depth`] = ch.depth;
    }
    const tombstone = admin && lookupds().length > 0
      ? (node: string) => (
        <ActionButton
          x
          label="✘"
          url={`${base}/api/nodes/${enc(node)}`}
          method="DELETE"
          body={JSON.stringify({ topic })}
          confirm={`Tombstone topic ${topic} on ${node}? Its nsqd deletes the topic and lookupd stops listing it.`}
        />
      )
      : undefined;
    return {
      title: topic,
      body: (
        <>
          <Warnings errors={errors} />
          <h2>
            Topic: {topic}
            <Paused paused={agg.paused} />
          </h2>
          {admin
            ? (
              <div class="actions">
                <ActionButton label="Empty Queue" url={api} method="POST" body='{"action":"empty"}' />
                <ActionButton
                  label={agg.paused ? "UnPause Topic" : "Pause Topic"}
                  url={api}
                  method="POST"
                  body={agg.paused ? '{"action":"unpause"}' : '{"action":"pause"}'}
                />
                <ActionButton label="Delete Topic" url={api} method="DELETE" next={`${base}/`} />
              </div>
            )
            : null}
          {agg.nodes!.length === 0 ? <p class="warning">No producers exist for this topic.</p> : (
            <>
              <Chart id={`topic:${topic}`} counters={counters} gauges={gauges} />
              <TopicNodesTable topic={agg} tombstone={tombstone} />
            </>
          )}
          <h3>Channels</h3>
          {agg.channels.length === 0 ? <p>No channels.</p> : <ChannelsTable base={base} topic={agg} />}
        </>
      ),
    };
  });

  uiPage("/topics/:topic/:channel", "streams", async (c) => {
    const topic = param(c, "topic");
    const channel = param(c, "channel");
    const errors: string[] = [];
    const producers = collect(await ci.getTopicProducers(topic, lookupds(), nsqds()), errors);
    const stats = collect(await ci.getNsqdStats(producers, topic, channel, true), errors);
    const ch = stats.channels.get(channel);
    const api = `${base}/api/topics/${enc(topic)}/${enc(channel)}`;
    const topicLink = <a href={`${base}/topics/${enc(topic)}`}>{topic}</a>;
    if (ch === undefined) {
      return {
        title: `${topic}/${channel}`,
        body: (
          <>
            <Warnings errors={errors} />
            <h2>Topic: {topicLink} / Channel: {channel}</h2>
            <p class="warning">No nsqd has this channel.</p>
          </>
        ),
      };
    }
    const clients = ch.clients ?? [];
    return {
      title: `${topic}/${channel}`,
      body: (
        <>
          <Warnings errors={errors} />
          <h2>
            Topic: {topicLink} / Channel: {channel}
            <Paused paused={ch.paused} />
          </h2>
          {isAdmin(c)
            ? (
              <div class="actions">
                <ActionButton label="Empty Queue" url={api} method="POST" body='{"action":"empty"}' />
                <ActionButton
                  label={ch.paused ? "UnPause Channel" : "Pause Channel"}
                  url={api}
                  method="POST"
                  body={ch.paused ? '{"action":"unpause"}' : '{"action":"pause"}'}
                />
                <ActionButton
                  label="Delete Channel"
                  url={api}
                  method="DELETE"
                  next={`${base}/topics/${enc(topic)}`}
                />
              </div>
            )
            : null}
          <Chart
            id={`channel:${topic}/${channel}`}
            counters={{ received: ch.message_count, consumed: consumed(ch), requeued: ch.requeue_count }}
            gauges={{ depth: ch.depth, "in-flight": ch.in_flight_count, deferred: ch.deferred_count }}
          />
          <ChannelNodesTable channel={ch} />
          <h3>Client Connections ({clients.length})</h3>
          {clients.length === 0 ? <p>No clients connected.</p> : <ClientsTable clients={clients} />}
        </>
      ),
    };
  });

  uiPage("/nodes", "nodes", async () => {
    const errors: string[] = [];
    const nodes = collect(await ci.getProducers(lookupds(), nsqds()), errors);
    return {
      title: "Nodes",
      body: (
        <>
          <Warnings errors={errors} />
          <h2>NSQd Nodes ({nodes.length})</h2>
          {nodes.length === 0
            ? <p>No nsqd nodes.</p>
            : <NodesTable base={base} nodes={nodes} lookupds={lookupds().length} />}
        </>
      ),
    };
  });

  uiPage("/nodes/:node", "nodes", async (c) => {
    const node = param(c, "node");
    const errors: string[] = [];
    const producers = collect(await ci.getProducers(lookupds(), nsqds()), errors);
    const producer = producers.find((p) => httpAddress(p) === node);
    if (producer === undefined) {
      return {
        title: node,
        body: <p class="warning">{`Node ${node} is not part of the cluster.`}</p>,
      };
    }
    const stats = collect(await ci.getNsqdStats([producer], "", "", true), errors);
    let messages = 0;
    let depth = 0;
    let clients = 0;
    let channels = 0;
    for (const t of stats.topics) {
      messages += t.message_count;
      depth += t.depth;
      channels += t.channels.length;
      for (const ch of t.channels) clients += ch.clients?.length ?? 0;
    }
    const canTombstone = isAdmin(c) && lookupds().length > 0;
    return {
      title: node,
      body: (
        <>
          <Warnings errors={errors} />
          <h2>Node: {node}</h2>
          <div class="cards">
            <div class="card">
              Hostname<b>{producer.hostname}</b>
            </div>
            <div class="card">
              Version<b>{producer.version}</b>
            </div>
            <div class="card">
              Topics<b>{stats.topics.length}</b>
            </div>
            <div class="card">
              Channels<b>{channels}</b>
            </div>
            <div class="card">
              Messages<b class="total-messages">{messages}</b>
            </div>
            <div class="card">
              Clients<b class="total-clients">{clients}</b>
            </div>
          </div>
          <Chart id={`node:${node}`} counters={{ published: messages }} gauges={{ depth }} />
          {stats.topics.length === 0 ? <p>No topics on this node.</p> : (
            <Scroll>
              <table class="node-topics">
                <tr>
                  <th>Topic / Channel</th>
                  <th>Depth</th>
                  <th>Memory + Disk</th>
                  <th>In-Flight</th>
                  <th>Deferred</th>
                  <th>Requeued</th>
                  <th>Timed Out</th>
                  <th>Messages</th>
                  <th>Connections</th>
                </tr>
                {stats.topics.map((t) => (
                  <>
                    <tr class="total">
                      <td>
                        <a href={`${base}/topics/${enc(t.topic_name)}`}>{t.topic_name}</a>
                        <Paused paused={t.paused} />
                        {canTombstone
                          ? (
                            <ActionButton
                              x
                              label="✘"
                              url={`${base}/api/nodes/${enc(node)}`}
                              method="DELETE"
                              body={JSON.stringify({ topic: t.topic_name })}
                              confirm={`Tombstone topic ${t.topic_name} on ${node}?`}
                            />
                          )
                          : null}
                      </td>
                      <td>{t.depth}</td>
                      <td>{`${t.memory_depth} + ${t.backend_depth}`}</td>
                      <td colspan={4}></td>
                      <td>{t.message_count}</td>
                      <td></td>
                    </tr>
                    {t.channels.map((ch) => (
                      <tr class="sub">
                        <td>
                          <a href={`${base}/topics/${enc(t.topic_name)}/${enc(ch.channel_name)}`}>
                            {ch.channel_name}
                          </a>
                          <Paused paused={ch.paused} />
                        </td>
                        <td>{ch.depth}</td>
                        <td>{`${ch.memory_depth} + ${ch.backend_depth}`}</td>
                        <td>{ch.in_flight_count}</td>
                        <td>{ch.deferred_count}</td>
                        <td>{ch.requeue_count}</td>
                        <td>{ch.timeout_count}</td>
                        <td>{ch.message_count}</td>
                        <td>{ch.clients?.length ?? ch.client_count}</td>
                      </tr>
                    ))}
                  </>
                ))}
              </table>
            </Scroll>
          )}
        </>
      ),
    };
  });

  uiPage("/counter", "counter", async () => {
    const errors: string[] = [];
    const producers = collect(await ci.getProducers(lookupds(), nsqds()), errors);
    const stats = collect(await ci.getNsqdStats(producers, "", "", false), errors);
    let total = 0;
    for (const ch of stats.channels.values()) total += ch.message_count;
    return {
      title: "Counter",
      body: (
        <>
          <Warnings errors={errors} />
          <p class="counter" id="counter">{total.toLocaleString("en-US")}</p>
          <p style="text-align:center">Messages Processed (every channel of every nsqd)</p>
          <Chart id="counter" counters={{ processed: total }} />
        </>
      ),
    };
  });

  uiPage("/lookup", "lookup", async (c) => {
    if (lookupds().length === 0) {
      return {
        title: "Lookup",
        refresh: false,
        body: <p class="warning">nsqadmin is not configured with nsqlookupd hosts</p>,
      };
    }
    const errors: string[] = [];
    const topics = collect(await ci.getLookupdTopics(lookupds()), errors);
    const inactive: [string, string[]][] = [];
    for (const topic of topics) {
      const producers = await ci.getLookupdTopicProducers(topic, lookupds()).catch(() => null);
      if (producers === null || producers.value.length > 0) continue;
      const channels = await ci.getLookupdTopicChannels(topic, lookupds()).catch(() => null);
      inactive.push([topic, channels?.value ?? []]);
    }
    const nodes = await ci.getLookupdProducers(lookupds()).catch(() => null);
    const tombstoned = (nodes?.value ?? []).flatMap((p) =>
      (p.topics ?? []).filter((t) => t.tombstoned).map((t) => [httpAddress(p), t.topic])
    );
    const admin = isAdmin(c);
    const del = (url: string, what: string) =>
      admin ? <ActionButton x label="✘" url={url} method="DELETE" confirm={`Delete ${what}?`} /> : null;
    return {
      title: "Lookup",
      refresh: false,
      body: (
        <>
          <Warnings errors={errors} />
          <h2>Lookup</h2>
          <h3>nsqlookupd hosts</h3>
          <ul class="lookupds">{lookupds().map((l) => <li key={l}>{l}</li>)}</ul>
          {admin
            ? (
              <>
                <h3>Create Topic / Channel</h3>
                <form class="create" data-url={`${base}/api/topics`}>
                  <input name="topic" placeholder="topic" required aria-label="topic" />
                  <input name="channel" placeholder="channel (optional)" aria-label="channel" />
                  <button type="submit">Create</button>
                </form>
                <p>
                  <small>
                    A topic is registered in nsqlookupd; a channel is also created on every nsqd that has the
                    topic.
                  </small>
                </p>
              </>
            )
            : null}
          <h3>Inactive topics (no producer)</h3>
          {inactive.length === 0 ? <p>No inactive Topics</p> : (
            <ul class="tree inactive">
              {inactive.map(([t, chs]) => (
                <li>
                  {t} {del(`${base}/api/topics/${enc(t)}`, `topic ${t}`)}
                  {chs.length > 0
                    ? (
                      <ul>
                        {chs.map((ch) => (
                          <li>
                            {ch} {del(`${base}/api/topics/${enc(t)}/${enc(ch)}`, `channel ${t}/${ch}`)}
                          </li>
                        ))}
                      </ul>
                    )
                    : null}
                </li>
              ))}
            </ul>
          )}
          <h3>Tombstoned topic producers</h3>
          {tombstoned.length === 0 ? <p>No tombstones.</p> : (
            <Scroll>
              <table class="tombstones">
                <tr>
                  <th>NSQd Host</th>
                  <th class="text">Topic</th>
                </tr>
                {tombstoned.map(([node, topic]) => (
                  <tr>
                    <td>
                      <a href={`${base}/nodes/${enc(node)}`}>{node}</a>
                    </td>
                    <td class="text">{topic}</td>
                  </tr>
                ))}
              </table>
            </Scroll>
          )}
        </>
      ),
    };
  });
}

/** The value of a gathered result, its errors added to `errors`. */
function collect<T>(r: Gathered<T>, errors: string[]): T {
  errors.push(...r.errors);
  return r.value;
}
