/**
 * nsq_stat (shared/nsq-reference.md §10.4) against real nsqds, on Deno, on Bun and as the binary:
 * upstream's exact header and row format, rows against known traffic, counters summed over the
 * nsqds of the topic (given directly or found through nsqlookupd), `--count`, SIGTERM, and
 * upstream's errors.
 */
import assert from "node:assert/strict";
import {
  consumer,
  type NsqdProcess,
  runtimeTest,
  startNsqd,
  startNsqlookupd,
  until,
  withNsqd,
} from "./harness.ts";
import { assertLogFatal, describeExit, httpPublish, runTool, ToolProcess } from "./tool_runner.ts";

const HEADER =
  "------rate------+----------------depth----------------+--------------metadata---------------\n" +
  "ingress  egress |   total     mem    disk inflt   def |     req     t-o         msgs clients\n";

async function createChannel(nsqd: NsqdProcess, topic: string, channel: string): Promise<void> {
  for (const path of [`/topic/create?topic=${topic}`, `/channel/create?topic=${topic}&channel=${channel}`]) {
    const r = await nsqd.http(path, { method: "POST" });
    assert.equal(r.status, 200, await r.text());
  }
}

/** `%7d %7d | %7d %7d %7d %5d %5d | %7d %7d %12d %7d` */
function row(...n: number[]): string {
  const w = [7, 7, 7, 7, 7, 5, 5, 7, 7, 12, 7];
  const c = n.map((v, i) => String(v).padStart(w[i]));
  return `${c[0]} ${c[1]} | ${c[2]} ${c[3]} ${c[4]} ${c[5]} ${c[6]} | ${c[7]} ${c[8]} ${c[9]} ${c[10]}\n`;
}

runtimeTest(
  "nsq_stat prints upstream's table: a baseline, then --count rows with rates of the traffic",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      await createChannel(nsqd, "st", "c");
      await httpPublish(nsqd.httpUrl, "st", ["1", "2", "3", "4"]);
      const p = new ToolProcess(rt, "nsq_stat", [
        `--nsqd-http-address=127.0.0.1:${nsqd.httpPort}`,
        "--topic=st",
        "--channel=c",
        "--interval=1s",
        "--count=2",
      ]);
      // The header comes with the baseline poll; 10 more messages arrive in the first interval.
      await p.waitFor(/clients\n$/, "stdout");
      await httpPublish(nsqd.httpUrl, "st", Array.from({ length: 10 }, (_, i) => `m${i}`));
      const e = await p.exit();
      assert.equal(e.code, 0, describeExit(e));
      assert.equal(
        e.stdout,
        HEADER + row(10, 0, 14, 14, 0, 0, 0, 0, 0, 14, 0) + row(0, 0, 14, 14, 0, 0, 0, 0, 0, 14, 0),
      );
    });
  },
);

runtimeTest("nsq_stat sums the channel over every nsqd of the topic (nsqd and lookupd mode)", async (rt) => {
  const lookupd = await startNsqlookupd(rt);
  const reg = [`--lookupd-tcp-address=127.0.0.1:${lookupd.tcpPort}`, "--broadcast-address=127.0.0.1"];
  const [a, b] = await Promise.all([startNsqd(rt, reg), startNsqd(rt, reg)]);
  try {
    for (const n of [a, b]) await createChannel(n, "sum", "c");
    await httpPublish(a.httpUrl, "sum", ["1", "2", "3"]);
    await httpPublish(b.httpUrl, "sum", ["4", "5"]);
    // One message in flight on b, one client there.
    const conn = await consumer(b, "sum", "c", 1);
    await conn.readMessage();
    await until("lookupd knows both", async () => {
      const r = await lookupd.http("/lookup?topic=sum");
      assert.equal((await r.json()).producers.length, 2);
    });
    const want = HEADER + row(0, 0, 4, 4, 0, 1, 0, 0, 0, 5, 1);
    const [direct, viaLookupd] = await Promise.all([
      runTool(rt, "nsq_stat", [
        `--nsqd-http-address=127.0.0.1:${a.httpPort}`,
        `--nsqd-http-address=127.0.0.1:${b.httpPort}`,
        "--topic=sum",
        "--channel=c",
        "--interval=200ms",
        "--count=1",
      ]),
      runTool(rt, "nsq_stat", [
        `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`,
        "--topic=sum",
        "--channel=c",
        "--interval=200ms",
        "--count=1",
      ]),
    ]);
    assert.equal(direct.code, 0, describeExit(direct));
    assert.equal(direct.stdout, want);
    assert.equal(viaLookupd.code, 0, describeExit(viaLookupd));
    assert.equal(viaLookupd.stdout, want);
    conn.close();
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await lookupd.stop();
  }
});

runtimeTest("nsq_stat runs until SIGTERM without --count, and reports upstream's errors", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    await createChannel(nsqd, "err", "c");
    const addr = `--nsqd-http-address=127.0.0.1:${nsqd.httpPort}`;
    const p = new ToolProcess(rt, "nsq_stat", [addr, "--topic=err", "--channel=c", "--interval=100ms"]);
    await p.waitFor(/^(.*\n){4}/, "stdout");
    p.signal("SIGTERM");
    const e = await p.exit();
    assert.equal(e.code, 0, describeExit(e));

    const [noChannel, count, interval, scheme, both, noSource, missing, version] = await Promise.all([
      runTool(rt, "nsq_stat", [addr, "--topic=err"]),
      runTool(rt, "nsq_stat", [addr, "--topic=err", "--channel=c", "--count=0"]),
      runTool(rt, "nsq_stat", [addr, "--topic=err", "--channel=c", "--interval=0s"]),
      runTool(rt, "nsq_stat", ["--nsqd-http-address=http://x:1", "--topic=err", "--channel=c"]),
      runTool(rt, "nsq_stat", [addr, "--lookupd-http-address=x:1", "--topic=err", "--channel=c"]),
      runTool(rt, "nsq_stat", ["--topic=err", "--channel=c"]),
      runTool(rt, "nsq_stat", [addr, "--topic=err", "--channel=nope", "--count=1"]),
      runTool(rt, "nsq_stat", ["--version"]),
    ]);
    assertLogFatal(noChannel, "--topic and --channel are required");
    assertLogFatal(count, "--count should be positive");
    assertLogFatal(interval, "--interval should be positive");
    assertLogFatal(scheme, "--nsqd-http-address error - address should not contain scheme");
    assertLogFatal(both, "use --nsqd-http-address or --lookupd-http-address not both");
    assertLogFatal(noSource, "--nsqd-http-address or --lookupd-http-address required");
    assertLogFatal(missing, "ERROR: failed to find channel(nope) in stats metadata for topic(err)");
    assert.match(version.stdout, /^nsq_stat v1\.3\.0-ts\S+ \(built w\/\S+\)\n$/);
  });
});
