/**
 * Draining mode (beyond upstream v1.3.0; the maintainers' RFC, nsq issue #1302): nsqd refuses new
 * messages and new topics and channels, lets its consumers receive everything that is queued,
 * deferred or in flight, and shuts down cleanly once nothing deliverable is left.
 */
import type { Topic } from "./topic.ts";

/** A publish, or the creation of a topic or channel, refused because nsqd is draining. */
export class DrainingError extends Error {
  constructor() {
    super("draining");
    this.name = "DrainingError";
  }
}

/** Where a drain stands. */
export interface DrainState {
  /** Messages consumers can still receive (queued, deferred or in flight). */
  pending: number;
  /**
   * Queues a drain does not wait for, as log text: a topic without channels, or a paused topic or
   * channel, would hold the drain forever. What they hold is left as a clean shutdown leaves it.
   */
  stranded: string[];
}

/** Counts what a drain still waits for among `topics`, and what it will leave behind. */
export function drainState(topics: Iterable<Topic>): DrainState {
  let pending = 0;
  const stranded: string[] = [];
  for (const topic of topics) {
    const channels = topic.channelList;
    if (topic.depth > 0) {
      if (topic.paused || channels.length === 0) {
        const why = topic.paused ? "the topic is paused" : "the topic has no channel";
        stranded.push(`TOPIC(${topic.name}): ${topic.depth} messages not drained (${why})`);
      } else {
        pending += topic.depth;
      }
    }
    for (const channel of channels) {
      const n = channel.depth + channel.inFlightCount + channel.deferredCount;
      if (n === 0) continue;
      if (channel.paused) {
        stranded.push(
          `TOPIC(${topic.name}): channel(${channel.name}): ${n} messages not drained (the channel is paused)`,
        );
      } else {
        pending += n;
      }
    }
  }
  return { pending, stranded };
}
