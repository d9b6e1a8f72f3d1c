/**
 * to_nsq (shared/nsq-reference.md §10.3) against real nsqds, on Deno, on Bun and as the binary:
 * chunks of stdin published without their delimiter (the last one whole), empty chunks skipped,
 * `--delimiter`, fan-out to every `--nsqd-tcp-address`, `--rate`, `--producer-opt`, SIGTERM with
 * stdin still open, and upstream's startup errors.
 */
import assert from "node:assert/strict";
import { consumer, type NsqdProcess, readMessages, runtimeTest, startNsqd, withNsqd } from "./harness.ts";
import { assertFlagError, assertLogFatal, describeExit, runTool, ToolProcess } from "./tool_runner.ts";

async function drain(nsqd: NsqdProcess, topic: string, n: number): Promise<string[]> {
  const c = await consumer(nsqd, topic, "check", 100);
  try {
    return (await readMessages(c, n)).map((m) => m.text);
  } finally {
    c.close();
  }
}

async function depth(nsqd: NsqdProcess, topic: string): Promise<number> {
  const s = await nsqd.stats(`&topic=${topic}`);
  return (s.topics ?? [])[0]?.message_count ?? 0;
}

runtimeTest(
  "to_nsq publishes each chunk without its delimiter, skips empty ones, keeps an unterminated last chunk whole",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const e = await runTool(
        rt,
        "to_nsq",
        [`--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`, "--topic=lines"],
        "a\n\nünï ✓\n\nbc",
      );
      assert.equal(e.code, 0, describeExit(e));
      assert.equal(e.stdout, "");
      assert.deepEqual(await drain(nsqd, "lines", 3), ["a", "ünï ✓", "bc"]);
      assert.equal(await depth(nsqd, "lines"), 3);

      const d = await runTool(
        rt,
        "to_nsq",
        ["-nsqd-tcp-address", `127.0.0.1:${nsqd.tcpPort}`, "-topic", "csv", "--delimiter=,"],
        "x,y\nz,,",
      );
      assert.equal(d.code, 0, describeExit(d));
      assert.deepEqual(await drain(nsqd, "csv", 2), ["x", "y\nz"]);
    });
  },
);

runtimeTest("to_nsq fans out to every --nsqd-tcp-address, with --producer-opt", async (rt) => {
  const [a, b] = await Promise.all([startNsqd(rt), startNsqd(rt)]);
  try {
    const e = await runTool(rt, "to_nsq", [
      `--nsqd-tcp-address=127.0.0.1:${a.tcpPort}`,
      `--nsqd-tcp-address=127.0.0.1:${b.tcpPort}`,
      "--topic=fan",
      "--producer-opt=user_agent,probe/2",
      "--producer-opt=write_timeout,2s",
    ], "1\n2\n3\n");
    assert.equal(e.code, 0, describeExit(e));
    assert.deepEqual(await drain(a, "fan", 3), ["1", "2", "3"]);
    assert.deepEqual(await drain(b, "fan", 3), ["1", "2", "3"]);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

runtimeTest("to_nsq --rate never exceeds the rate (and logs it)", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const lines = Array.from({ length: 11 }, (_, i) => `m${i}\n`).join("");
    const p = new ToolProcess(rt, "to_nsq", [
      `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
      "--topic=slow",
      "--rate=20",
    ], "piped");
    await p.write(lines);
    await p.closeStdin();
    await p.waitFor(/Throttling messages rate to max:20\/second$/m);
    const started = Date.now();
    const e = await p.exit();
    assert.equal(e.code, 0, describeExit(e));
    // One token to start with, then one per 50 ms: 10 more messages take ≥ 500 ms.
    assert.ok(Date.now() - started >= 400, `took ${Date.now() - started} ms`);
    assert.ok(e.elapsedMs >= 500, `took ${e.elapsedMs} ms`);
    assert.equal(await depth(nsqd, "slow"), 11);
  });
});

runtimeTest("to_nsq exits 0 on SIGTERM with stdin still open, after publishing what it read", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const p = new ToolProcess(
      rt,
      "to_nsq",
      [`--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`, "--topic=open"],
      "piped",
    );
    await p.write("one\ntwo\n");
    const deadline = Date.now() + 10_000;
    while (await depth(nsqd, "open") < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    p.signal("SIGTERM");
    const e = await p.exit();
    assert.equal(e.code, 0, describeExit(e));
    assert.equal(await depth(nsqd, "open"), 2);
  });
});

runtimeTest("to_nsq's startup errors are upstream's", async (rt) => {
  const [noTopic, delim, noNsqd, version, badOpt, down] = await Promise.all([
    runTool(rt, "to_nsq", ["--nsqd-tcp-address=127.0.0.1:1"], ""),
    runTool(rt, "to_nsq", ["--topic=t", "--delimiter=ab", "--nsqd-tcp-address=127.0.0.1:1"], ""),
    runTool(rt, "to_nsq", ["--topic=t"], ""),
    runTool(rt, "to_nsq", ["--version"], ""),
    runTool(rt, "to_nsq", ["--topic=t", "--producer-opt=nope,1"], ""),
    runTool(rt, "to_nsq", ["--topic=t", "--nsqd-tcp-address=127.0.0.1:1"], "m\n"),
  ]);
  assertLogFatal(noTopic, "--topic required");
  assertLogFatal(delim, "--delimiter must be a single byte");
  assertLogFatal(noNsqd, "--nsqd-tcp-address required");
  assertFlagError(version, "to_nsq", "flag provided but not defined: -version");
  assertFlagError(badOpt, "to_nsq", 'invalid value "nope,1" for flag -producer-opt: invalid option nope');
  assert.equal(down.code, 1, describeExit(down));
});
