/**
 * nsq_tail (shared/nsq-reference.md §10.2) against a real nsqd, on Deno, on Bun and as the
 * binary: bodies byte for byte on stdout, `--print-topic`, `-n` (over all topics; the last
 * message FINed before exit), the default ephemeral channel, `--max-in-flight`, `--consumer-opt`,
 * nsqlookupd discovery, SIGINT/SIGTERM, and upstream's startup errors.
 */
import assert from "node:assert/strict";
import { channelStats, runtimeTest, startNsqd, startNsqlookupd, until, withNsqd } from "./harness.ts";
import {
  assertFlagError,
  assertLogFatal,
  describeExit,
  httpPublish,
  runTool,
  ToolProcess,
} from "./tool_runner.ts";

runtimeTest("nsq_tail prints bodies byte for byte, -n exits 0 after the last one is FINed", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const bodies = ["plain", "tab\there", "ünïcødé ✓", "pipe | not a prefix", "fifth"];
    await httpPublish(nsqd.httpUrl, "tail_bytes", bodies);
    const e = await runTool(rt, "nsq_tail", [
      `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
      "--topic=tail_bytes",
      "--channel=keep",
      "-n",
      "3",
    ]);
    assert.equal(e.code, 0, describeExit(e));
    assert.equal(e.stdout, "plain\ntab\there\nünïcødé ✓\n");
    assert.match(e.stderr, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d Adding consumer for topic: tail_bytes$/m);
    // Three FINed (upstream leaves the third in flight), two still queued.
    const c = await channelStats(nsqd, "tail_bytes", "keep");
    assert.equal(c.in_flight_count, 0);
    assert.equal(c.depth, 2);
  });
});

runtimeTest("nsq_tail --print-topic prefixes '<topic> | ', -n counts over all topics", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    await httpPublish(nsqd.httpUrl, "tail_a", ["from a"]);
    await httpPublish(nsqd.httpUrl, "tail_b", ["from b"]);
    const e = await runTool(rt, "nsq_tail", [
      `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
      "--topic=tail_a",
      "--topic=tail_b",
      "--print-topic",
      "-n=2",
    ]);
    assert.equal(e.code, 0, describeExit(e));
    assert.deepEqual(e.stdout.split("\n").sort(), ["", "tail_a | from a", "tail_b | from b"]);
  });
});

runtimeTest(
  "nsq_tail: ephemeral tail channel, --max-in-flight and --consumer-opt reach nsqd; SIGTERM/SIGINT exit 0",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      for (const sig of ["SIGTERM", "SIGINT"] as const) {
        const p = new ToolProcess(rt, "nsq_tail", [
          `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
          "--topic=tail_opts",
          "--max-in-flight=7",
          "--consumer-opt=user_agent,probe/1.0",
          "--consumer-opt",
          "output_buffer_timeout,50ms",
        ]);
        let client: { ready_count: number; user_agent: string; output_buffer_timeout?: number } | undefined;
        let channel = "";
        await until("the tail client in /stats", async () => {
          const s = await nsqd.stats();
          const t = s.topics.find((t: { topic_name: string }) => t.topic_name === "tail_opts");
          const c = t.channels.find((c: { clients: unknown[] }) => c.clients.length > 0);
          assert.ok(c);
          channel = c.channel_name;
          client = c.clients[0];
          assert.equal(client!.ready_count, 7);
        }, 10_000);
        assert.match(channel, /^tail\d{6}#ephemeral$/);
        assert.equal(client!.user_agent, "probe/1.0");
        await httpPublish(nsqd.httpUrl, "tail_opts", [sig]);
        await p.waitFor(new RegExp(`^${sig}\\n$`), "stdout");
        p.signal(sig);
        const e = await p.exit();
        assert.equal(e.code, 0, describeExit(e));
        assert.equal(e.stdout, `${sig}\n`);
      }
    });
  },
);

runtimeTest("nsq_tail --lookupd-http-address finds the topic's nsqds", async (rt) => {
  const lookupd = await startNsqlookupd(rt);
  const nsqd = await startNsqd(rt, [
    `--lookupd-tcp-address=127.0.0.1:${lookupd.tcpPort}`,
    "--broadcast-address=127.0.0.1",
  ]);
  try {
    await httpPublish(nsqd.httpUrl, "tail_lookup", ["found me"]);
    await until("registration", async () => {
      const r = await lookupd.http("/lookup?topic=tail_lookup");
      assert.equal(r.status, 200);
      assert.equal((await r.json()).producers.length, 1);
    });
    const e = await runTool(rt, "nsq_tail", [
      `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`,
      "--topic=tail_lookup",
      "-n=1",
    ]);
    assert.equal(e.code, 0, describeExit(e));
    assert.equal(e.stdout, "found me\n");
  } finally {
    await nsqd.stop();
    await lookupd.stop();
  }
});

runtimeTest("nsq_tail's startup errors are upstream's (log.Fatal exit 1, flag errors exit 2)", async (rt) => {
  const [noTopic, noSource, both, badOpt, version] = await Promise.all([
    runTool(rt, "nsq_tail", ["--nsqd-tcp-address=127.0.0.1:1"]),
    runTool(rt, "nsq_tail", ["--topic=t"]),
    runTool(rt, "nsq_tail", ["--topic=t", "--nsqd-tcp-address=a:1", "--lookupd-http-address=b:2"]),
    runTool(rt, "nsq_tail", ["--topic=t", "--consumer-opt=max_in_flight,x"]),
    runTool(rt, "nsq_tail", ["--version"]),
  ]);
  assertLogFatal(noTopic, "--topic required");
  assertLogFatal(noSource, "--nsqd-tcp-address or --lookupd-http-address required");
  assertLogFatal(both, "use --nsqd-tcp-address or --lookupd-http-address not both");
  assertFlagError(
    badOpt,
    "nsq_tail",
    'invalid value "max_in_flight,x" for flag -consumer-opt: failed to coerce option max_in_flight (x) - strconv.ParseInt: parsing "x": invalid syntax',
  );
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^nsq_tail v1\.3\.0-ts\S+ \(built w\/\S+\)\n$/);
});
