/**
 * nsqadmin's admin actions fanned out to the cluster (nsq `internal/clusterinfo/data.go`
 * `CreateTopicChannel`, `DeleteTopic`, `DeleteChannel`, `actionHelper`, `TombstoneNodeForTopic`;
 * shared/nsq-reference.md §11.5): POSTs to every nsqlookupd and to the nsqds that produce the topic,
 * one after the other (lookupds first, so a deleted topic is not re-discovered).
 *
 * Each action resolves with the errors of the requests that failed (a partial failure, reported as
 * a warning) and throws a `ClusterError` when there was something to do and every request failed
 * (upstream reports success then). In nsqd mode (no lookupds) topics and channels are created on
 * the configured nsqds (upstream does nothing there, or fails).
 */
import { ClusterError, type ClusterInfo, httpAddress, type Producer } from "./cluster_info.ts";

/** What POST `/api/topics/:topic[/:channel]` may ask. */
export type QueueAction = "pause" | "unpause" | "empty";

/** The admin actions of one nsqadmin. */
export class AdminActions {
  readonly #ci: ClusterInfo;

  constructor(ci: ClusterInfo) {
    this.#ci = ci;
  }

  /** Registers the topic (and channel) with every lookupd; creates the channel on its nsqds. */
  async createTopicChannel(
    topic: string,
    channel: string,
    lookupds: readonly string[],
    nsqds: readonly string[],
  ): Promise<string[]> {
    const t = `topic=${encodeURIComponent(topic)}`;
    const tc = `${t}&channel=${encodeURIComponent(channel)}`;
    if (lookupds.length === 0) {
      const urls = nsqds.map((a) => `http://${a}/topic/create?${t}`);
      if (channel !== "") urls.push(...nsqds.map((a) => `http://${a}/channel/create?${tc}`));
      return await this.#posts(urls, []);
    }
    const urls = lookupds.map((a) => `http://${a}/topic/create?${t}`);
    if (channel === "") return await this.#posts(urls, []);
    urls.push(...lookupds.map((a) => `http://${a}/channel/create?${tc}`));
    const producers = await this.#ci.getLookupdTopicProducers(topic, lookupds);
    urls.push(...producers.value.map((p) => `http://${httpAddress(p)}/channel/create?${tc}`));
    return await this.#posts(urls, producers.errors);
  }

  /** Deletes the topic from every lookupd, then from every nsqd that has it. */
  deleteTopic(topic: string, lookupds: readonly string[], nsqds: readonly string[]): Promise<string[]> {
    return this.#deleteEverywhere(topic, "", lookupds, nsqds);
  }

  /** Deletes the channel from every lookupd, then from every nsqd that has the topic. */
  deleteChannel(
    topic: string,
    channel: string,
    lookupds: readonly string[],
    nsqds: readonly string[],
  ): Promise<string[]> {
    return this.#deleteEverywhere(topic, channel, lookupds, nsqds);
  }

  /** Pauses, unpauses or empties a topic (`channel` "") or a channel on every nsqd that has the topic. */
  async queueAction(
    action: QueueAction,
    topic: string,
    channel: string,
    lookupds: readonly string[],
    nsqds: readonly string[],
  ): Promise<string[]> {
    const producers = await this.#ci.getTopicProducers(topic, lookupds, nsqds);
    return await this.#posts(nsqdUrls(producers.value, queuePath(action, topic, channel)), producers.errors);
  }

  /** Tombstones `node` (`broadcast_address:http_port`) for the topic on every lookupd, then deletes it there. */
  async tombstoneNodeForTopic(topic: string, node: string, lookupds: readonly string[]): Promise<string[]> {
    const q = `topic=${encodeURIComponent(topic)}`;
    const urls = lookupds.map((a) => `http://${a}/topic/tombstone?${q}&node=${encodeURIComponent(node)}`);
    urls.push(`http://${node}/topic/delete?${q}`);
    return await this.#posts(urls, []);
  }

  /** Deletes a topic (`channel` "") or a channel from every lookupd, then from every nsqd that has the topic. */
  async #deleteEverywhere(
    topic: string,
    channel: string,
    lookupds: readonly string[],
    nsqds: readonly string[],
  ): Promise<string[]> {
    const producers = await this.#ci.getTopicProducers(topic, lookupds, nsqds);
    const path = queuePath("delete", topic, channel);
    const urls = [...lookupds.map((a) => `http://${a}${path}`), ...nsqdUrls(producers.value, path)];
    return await this.#posts(urls, producers.errors);
  }

  /** POSTs to each URL in turn; throws when there were some and all failed. */
  async #posts(urls: string[], errors: string[]): Promise<string[]> {
    const failed: string[] = [];
    for (const url of urls) {
      try {
        await this.#ci.post(url);
      } catch (err) {
        failed.push((err as Error).message);
      }
    }
    if (urls.length > 0 && failed.length === urls.length) {
      throw new ClusterError(`failed to query any node: ${[...errors, ...failed].join("\n")}`);
    }
    return [...errors, ...failed];
  }
}

/** `/topic/<action>?topic=…`, or `/channel/<action>?topic=…&channel=…` when `channel` is not "". */
function queuePath(action: QueueAction | "delete", topic: string, channel: string): string {
  return channel === ""
    ? `/topic/${action}?topic=${encodeURIComponent(topic)}`
    : `/channel/${action}?topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(channel)}`;
}

function nsqdUrls(producers: readonly Producer[], path: string): string[] {
  return producers.map((p) => `http://${httpAddress(p)}${path}`);
}
