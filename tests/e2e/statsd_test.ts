/**
 * nsqd's statsd push (shared/nsq-reference.md §3.10): a UDP listener in the test receives what
 * nsqd sends every `--statsd-interval`, and the lines are checked: the host-key prefix, topic,
 * channel and memory stats, counters as deltas, `--statsd-mem-stats=false`,
 * `--statsd-exclude-ephemeral`, and packets of whole lines within `--statsd-udp-packet-size`.
 */
import assert from "node:assert/strict";
import {
  eventually,
  type NsqConn,
  type NsqdProcess,
  runtimeTest,
  type StatsJson,
  withNsqd,
} from "./harness.ts";

const decoder = new TextDecoder();

// ---- local helpers ------------------------------------------------------------------------------

interface Packet {
  at: number;
  bytes: number;
  text: string;
}

interface Line {
  at: number;
  text: string;
  /** The stat name (everything before `:`), prefix included. */
  name: string;
}

/** A UDP socket that records every datagram it receives. */
class StatsdListener {
  readonly #conn: Deno.DatagramConn;
  readonly packets: Packet[] = [];
  #closed = false;

  constructor() {
    this.#conn = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    this.#loop();
  }

  get port(): number {
    return (this.#conn.addr as Deno.NetAddr).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Every line received so far, in order. */
  lines(): Line[] {
    const out: Line[] = [];
    for (const p of this.packets) {
      for (const text of p.text.split("\n")) {
        if (text !== "") out.push({ at: p.at, text, name: text.slice(0, text.lastIndexOf(":")) });
      }
    }
    return out;
  }

  /**
   * The lines grouped into pushes: a push never names a stat twice, and pushes are a whole
   * interval apart, so a new group starts at a repeated name or after a pause of 400 ms.
   */
  pushes(): Line[][] {
    const groups: Line[][] = [];
    let current: Line[] = [];
    let names = new Set<string>();
    for (const line of this.lines()) {
      const last = current[current.length - 1];
      if (current.length > 0 && (names.has(line.name) || line.at - last.at > 400)) {
        groups.push(current);
        current = [];
        names = new Set();
      }
      current.push(line);
      names.add(line.name);
    }
    if (current.length > 0) groups.push(current);
    return groups;
  }

  close(): void {
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }

  async #loop(): Promise<void> {
    while (!this.#closed) {
      try {
        const [data] = await this.#conn.receive();
        this.packets.push({ at: Date.now(), bytes: data.length, text: decoder.decode(data) });
      } catch {
        return;
      }
    }
  }
}

async function withStatsd(fn: (statsd: StatsdListener) => Promise<void>): Promise<void> {
  const statsd = new StatsdListener();
  try {
    await fn(statsd);
  } finally {
    statsd.close();
  }
}

function statsdArgs(statsd: StatsdListener, ...more: string[]): string[] {
  return [
    `--statsd-address=${statsd.address}`,
    "--statsd-interval=1s",
    "--statsd-prefix=nsq.%s",
    "--broadcast-address=test.host",
    ...more,
  ];
}

/** The prefix for `--broadcast-address=test.host`: `.`/`:` → `_`, the HTTP port, a trailing dot. */
function prefixOf(nsqd: NsqdProcess): string {
  return `nsq.test_host_${nsqd.httpPort}.`;
}

/** Polls the received pushes until `check` stops throwing; returns its result. */
async function untilPushes<T>(
  statsd: StatsdListener,
  what: string,
  check: (pushes: Line[][]) => T,
  timeoutMs = 15_000,
): Promise<T> {
  let result: T | undefined;
  await eventually(
    () => {
      result = check(statsd.pushes());
      return true;
    },
    timeoutMs,
    `${what} (received:\n${statsd.lines().map((l) => l.text).join("\n")})`,
  );
  return result as T;
}

function texts(push: Line[]): string[] {
  return push.map((l) => l.text);
}

/** Sums the `|c` values of `name` over all pushes. */
function counterSum(statsd: StatsdListener, name: string): number {
  return statsd.lines()
    .filter((l) => l.name === name && l.text.endsWith("|c"))
    .reduce((n, l) => n + Number(l.text.slice(name.length + 1, -2)), 0);
}

async function consumer(nsqd: NsqdProcess, topic: string, channel: string, rdy: number): Promise<NsqConn> {
  const c = await nsqd.connectV2();
  await c.sub(topic, channel);
  await c.rdy(rdy);
  await eventually(
    async () => {
      const s = await nsqd.stats();
      const t = (s.topics ?? []).find((t: StatsJson) => t.topic_name === topic);
      const ch = t?.channels.find((c: StatsJson) => c.channel_name === channel);
      return ch?.clients?.some((cl: StatsJson) => cl.ready_count === rdy);
    },
    5000,
    `${topic}/${channel} ready`,
  );
  return c;
}

async function post(nsqd: NsqdProcess, path: string, body?: string): Promise<void> {
  const res = await nsqd.http(path, { method: "POST", body });
  const text = await res.text();
  assert.equal(res.status, 200, `POST ${path}: ${text}`);
}

const LINE = /^[^:\s]+:-?\d+\|[cg]$/;
const MEM_GAUGES = [
  "heap_objects",
  "heap_idle_bytes",
  "heap_in_use_bytes",
  "heap_released_bytes",
  "gc_pause_usec_100",
  "gc_pause_usec_99",
  "gc_pause_usec_95",
  "next_gc_bytes",
];

function assertWholeLinePackets(statsd: StatsdListener, maxBytes: number): void {
  assert.ok(statsd.packets.length > 0, "some packets");
  for (const p of statsd.packets) {
    assert.ok(p.bytes <= maxBytes, `packet of ${p.bytes} bytes > ${maxBytes}:\n${p.text}`);
    assert.ok(p.text.endsWith("\n"), `packet does not end with a newline: ${JSON.stringify(p.text)}`);
    for (const line of p.text.slice(0, -1).split("\n")) {
      assert.match(line, LINE, `not a whole statsd line in packet ${JSON.stringify(p.text)}`);
    }
  }
}

// ---- tests ---------------------------------------------------------------------------------------

runtimeTest(
  "nsqd pushes topic, channel and memory stats to statsd under the host-key prefix, counters as deltas",
  async (rt) => {
    await withStatsd(async (statsd) => {
      await withNsqd(rt, statsdArgs(statsd), async (nsqd) => {
        const p = prefixOf(nsqd);
        const c = await consumer(nsqd, "t", "c", 1);
        await post(nsqd, "/mpub?topic=t", "m1\nm2\nm3");
        await c.readMessage(); // one in flight, two queued on the channel

        // the push that saw the three messages, then a later one in the settled state
        const settled = await untilPushes(statsd, "a push of the settled state", (pushes) => {
          const i = pushes.findIndex((push) => texts(push).includes(`${p}topic.t.message_count:3|c`));
          assert.ok(i >= 0, "a push with topic.t.message_count:3|c");
          // the second such push, so that nothing of the publish can still be in its deltas
          const later = pushes.slice(i + 1).filter((push) =>
            texts(push).includes(`${p}topic.t.channel.c.in_flight_count:1|g`) &&
            texts(push).includes(`${p}topic.t.channel.c.depth:2|g`) &&
            texts(push).some((l) => l.startsWith(`${p}mem.gc_runs:`))
          );
          assert.ok(later.length >= 2, "two later complete pushes with 1 in flight and 2 queued");
          return later[1];
        }, 20_000);

        const lines = texts(settled);
        for (
          const want of [
            `${p}topic.t.message_count:0|c`,
            `${p}topic.t.message_bytes:0|c`,
            `${p}topic.t.depth:0|g`,
            `${p}topic.t.backend_depth:0|g`,
            `${p}topic.t.channel.c.message_count:0|c`,
            `${p}topic.t.channel.c.depth:2|g`,
            `${p}topic.t.channel.c.backend_depth:0|g`,
            `${p}topic.t.channel.c.in_flight_count:1|g`,
            `${p}topic.t.channel.c.deferred_count:0|g`,
            `${p}topic.t.channel.c.requeue_count:0|c`,
            `${p}topic.t.channel.c.timeout_count:0|c`,
            `${p}topic.t.channel.c.clients:1|g`,
          ]
        ) {
          assert.ok(lines.includes(want), `missing ${want} in:\n${lines.join("\n")}`);
        }
        for (const g of MEM_GAUGES) {
          assert.ok(
            lines.some((l) => new RegExp(`^${p.replaceAll(".", "\\.")}mem\\.${g}:\\d+\\|g$`).test(l)),
            `missing mem.${g} gauge in:\n${lines.join("\n")}`,
          );
        }
        assert.ok(
          lines.some((l) => new RegExp(`^${p.replaceAll(".", "\\.")}mem\\.gc_runs:\\d+\\|c$`).test(l)),
          "mem.gc_runs counter",
        );
        assert.ok(!lines.some((l) => l.includes("mem.mem.")), "no doubled mem. prefix");

        // over all pushes the counters add up to what happened
        assert.equal(counterSum(statsd, `${p}topic.t.message_count`), 3);
        assert.equal(counterSum(statsd, `${p}topic.t.message_bytes`), 6);
        assert.equal(counterSum(statsd, `${p}topic.t.channel.c.message_count`), 3);

        for (const l of statsd.lines()) {
          assert.ok(l.text.startsWith(p), `line without the prefix ${p}: ${l.text}`);
          assert.match(l.text, LINE);
        }
        assertWholeLinePackets(statsd, 508);
        c.close();
      });
    });
  },
);

runtimeTest("statsd counters report requeues and timeouts as deltas", async (rt) => {
  await withStatsd(async (statsd) => {
    await withNsqd(rt, statsdArgs(statsd, "--msg-timeout=1s"), async (nsqd) => {
      const p = prefixOf(nsqd);
      const c = await consumer(nsqd, "t", "c", 1);
      await post(nsqd, "/mpub?topic=t", "a\nb");
      const first = await c.readMessage();
      await c.req(first.id, 0);
      await c.readMessage();
      await c.rdy(0); // let the second delivery time out and stay queued
      await untilPushes(statsd, "one requeue and one timeout reported", () => {
        assert.equal(counterSum(statsd, `${p}topic.t.channel.c.requeue_count`), 1);
        assert.equal(counterSum(statsd, `${p}topic.t.channel.c.timeout_count`), 1);
      }, 20_000);
      // and later pushes report no new ones
      const seen = statsd.pushes().length;
      await untilPushes(statsd, "a later push with zero deltas", (pushes) => {
        const later = pushes.slice(seen).find((push) =>
          texts(push).includes(`${p}topic.t.channel.c.requeue_count:0|c`)
        );
        assert.ok(later);
        assert.ok(texts(later).includes(`${p}topic.t.channel.c.timeout_count:0|c`));
      }, 20_000);
      assert.equal(counterSum(statsd, `${p}topic.t.channel.c.requeue_count`), 1);
      assert.equal(counterSum(statsd, `${p}topic.t.channel.c.timeout_count`), 1);
      c.close();
    });
  });
});

runtimeTest("--statsd-mem-stats=false leaves the mem. stats out", async (rt) => {
  await withStatsd(async (statsd) => {
    await withNsqd(rt, statsdArgs(statsd, "--statsd-mem-stats=false"), async (nsqd) => {
      const p = prefixOf(nsqd);
      await post(nsqd, "/pub?topic=t", "x");
      await untilPushes(statsd, "two pushes with topic t", (pushes) => {
        const withT = pushes.filter((push) => texts(push).includes(`${p}topic.t.depth:1|g`));
        assert.ok(withT.length >= 2, `${withT.length} pushes`);
      });
      const mem = statsd.lines().filter((l) => l.text.startsWith(`${p}mem.`));
      assert.deepEqual(mem.map((l) => l.text), []);
    });
  });
});

runtimeTest("a --statsd-prefix without %s is used as is with a trailing dot added", async (rt) => {
  await withStatsd(async (statsd) => {
    await withNsqd(
      rt,
      [`--statsd-address=${statsd.address}`, "--statsd-interval=1s", "--statsd-prefix=app.nsqd"],
      async (nsqd) => {
        await post(nsqd, "/pub?topic=t", "x");
        await untilPushes(statsd, "a push with topic t", () => {
          assert.ok(statsd.lines().some((l) => l.text === "app.nsqd.topic.t.depth:1|g"));
        });
        for (const l of statsd.lines()) assert.ok(l.text.startsWith("app.nsqd."), l.text);
      },
    );
  });
});

runtimeTest(
  "without --statsd-exclude-ephemeral, ephemeral topics and channels are pushed by name",
  async (rt) => {
    await withStatsd(async (statsd) => {
      await withNsqd(rt, statsdArgs(statsd), async (nsqd) => {
        const p = prefixOf(nsqd);
        const a = await consumer(nsqd, "e#ephemeral", "c", 1);
        const b = await consumer(nsqd, "t", "c#ephemeral", 1);
        await untilPushes(statsd, "ephemeral stats pushed", () => {
          const lines = statsd.lines().map((l) => l.text);
          assert.ok(lines.includes(`${p}topic.e#ephemeral.depth:0|g`), "ephemeral topic");
          assert.ok(lines.includes(`${p}topic.e#ephemeral.channel.c.clients:1|g`), "its channel");
          assert.ok(lines.includes(`${p}topic.t.channel.c#ephemeral.clients:1|g`), "ephemeral channel");
        });
        a.close();
        b.close();
      });
    });
  },
);

runtimeTest("--statsd-exclude-ephemeral skips #ephemeral topics and channels", async (rt) => {
  await withStatsd(async (statsd) => {
    await withNsqd(rt, statsdArgs(statsd, "--statsd-exclude-ephemeral"), async (nsqd) => {
      const p = prefixOf(nsqd);
      const conns = [
        await consumer(nsqd, "e#ephemeral", "c", 1),
        await consumer(nsqd, "t", "c#ephemeral", 1),
        await consumer(nsqd, "t", "c", 1),
      ];
      await untilPushes(statsd, "two pushes with t/c", (pushes) => {
        const withC = pushes.filter((push) => texts(push).includes(`${p}topic.t.channel.c.clients:1|g`));
        assert.ok(withC.length >= 2, `${withC.length} pushes`);
      });
      const ephemeral = statsd.lines().filter((l) => l.text.includes("ephemeral"));
      assert.deepEqual(ephemeral.map((l) => l.text), []);
      assert.ok(
        statsd.lines().some((l) => l.text === `${p}topic.t.depth:0|g`),
        "the topic t is still pushed",
      );
      for (const c of conns) c.close();
    });
  });
});

runtimeTest(
  "with --statsd-udp-packet-size=100 every packet holds whole lines and is at most 100 bytes",
  async (rt) => {
    await withStatsd(async (statsd) => {
      await withNsqd(rt, statsdArgs(statsd, "--statsd-udp-packet-size=100"), async (nsqd) => {
        const p = prefixOf(nsqd);
        const conns = [await consumer(nsqd, "t", "c", 1), await consumer(nsqd, "t", "d", 1)];
        await post(nsqd, "/pub?topic=t", "x");
        await post(nsqd, "/pub?topic=u", "y");
        await untilPushes(statsd, "two complete pushes", (pushes) => {
          const complete = pushes.filter((push) =>
            texts(push).some((l) => l.startsWith(`${p}topic.u.backend_depth:`)) &&
            texts(push).some((l) => l.startsWith(`${p}mem.gc_runs:`))
          );
          assert.ok(complete.length >= 2, `${complete.length} complete pushes`);
        });
        assertWholeLinePackets(statsd, 100);
        const perPush = statsd.lines().length / Math.max(1, statsd.pushes().length);
        assert.ok(
          statsd.packets.length > statsd.pushes().length,
          `several packets per push (${perPush} lines)`,
        );
        for (const c of conns) c.close();
      });
    });
  },
);
