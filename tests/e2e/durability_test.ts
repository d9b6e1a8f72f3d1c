import assert from "node:assert/strict";
import { ChildProcess, commandFor, runtimeTest, startNsqd } from "./harness.ts";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "nsqd-data-" });
}

async function post(url: string): Promise<void> {
  const res = await fetch(url, { method: "POST" });
  await res.body?.cancel();
  assert.equal(res.status, 200, url);
}

runtimeTest(
  "topics, channels and paused flags survive a restart through nsqd.dat; ephemeral ones do not",
  async (rt) => {
    const dir = await tempDir();
    try {
      const a = await startNsqd(rt, [`--data-path=${dir}`]);
      await post(`${a.httpUrl}/topic/create?topic=t1`);
      await post(`${a.httpUrl}/channel/create?topic=t1&channel=c1`);
      await post(`${a.httpUrl}/channel/create?topic=t1&channel=c2`);
      await post(`${a.httpUrl}/channel/pause?topic=t1&channel=c2`);
      await post(`${a.httpUrl}/topic/create?topic=t2`);
      await post(`${a.httpUrl}/topic/pause?topic=t2`);
      await post(`${a.httpUrl}/topic/create?topic=e%23ephemeral`);
      await post(`${a.httpUrl}/channel/create?topic=t1&channel=x%23ephemeral`);
      assert.equal(await a.stop(), 0);

      const meta = JSON.parse(await Deno.readTextFile(`${dir}/nsqd.dat`));
      assert.deepEqual(meta, {
        topics: [
          {
            name: "t1",
            paused: false,
            channels: [{ name: "c1", paused: false }, { name: "c2", paused: true }],
          },
          { name: "t2", paused: true, channels: null },
        ],
        version: "1.3.0",
      });

      const b = await startNsqd(rt, [`--data-path=${dir}`]);
      const s = await b.stats();
      assert.deepEqual(
        s.topics.map((
          t: { topic_name: string; paused: boolean; channels: { channel_name: string; paused: boolean }[] },
        ) => [
          t.topic_name,
          t.paused,
          t.channels.map((c) => [c.channel_name, c.paused]),
        ]),
        [["t1", false, [["c1", false], ["c2", true]]], ["t2", true, []]],
      );
      assert.equal(await b.stop(), 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

runtimeTest("nsqd.dat written by upstream nsqd (no channels key order, null lists) is loaded", async (rt) => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/nsqd.dat`,
      '{"topics":[{"channels":[{"name":"ch","paused":true}],"name":"up","paused":false},' +
        '{"channels":null,"name":"bad name!","paused":false},{"name":"solo","paused":false,"channels":null}],' +
        '"version":"1.2.1"}',
    );
    const n = await startNsqd(rt, [`--data-path=${dir}`]);
    const s = await n.stats();
    assert.deepEqual(s.topics.map((t: { topic_name: string }) => t.topic_name), ["solo", "up"]);
    assert.equal(s.topics[1].channels[0].paused, true);
    await n.proc.waitForLine(/skipping creation of invalid topic bad name!/);
    assert.equal(await n.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

runtimeTest("a second nsqd on the same --data-path fails to start with exit code 1", async (rt) => {
  const dir = await tempDir();
  try {
    const a = await startNsqd(rt, [`--data-path=${dir}`]);
    const b = new ChildProcess(commandFor(rt, "nsqd"), [
      "--tcp-address=127.0.0.1:0",
      "--http-address=127.0.0.1:0",
      `--data-path=${dir}`,
    ]);
    const status = await b.status;
    assert.equal(status.code, 1);
    assert.match(
      b.stderr,
      /FATAL: failed to instantiate nsqd - failed to lock data-path: cannot flock directory/,
    );
    assert.equal(await a.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
