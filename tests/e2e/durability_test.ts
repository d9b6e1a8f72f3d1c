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

async function pub(url: string, body: string): Promise<void> {
  const res = await fetch(url, { method: "POST", body });
  assert.equal(await res.text(), "OK", url);
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

runtimeTest(
  "topics and channels with files but missing from nsqd.dat (a crash before it was rewritten) are created again with their messages",
  async (rt) => {
    const dir = await tempDir();
    try {
      const a = await startNsqd(rt, [`--data-path=${dir}`]);
      for (const t of ["kept", "lost", "bare"]) await post(`${a.httpUrl}/topic/create?topic=${t}`);
      await post(`${a.httpUrl}/channel/create?topic=kept&channel=a`);
      await post(`${a.httpUrl}/channel/create?topic=kept&channel=late`);
      await post(`${a.httpUrl}/channel/create?topic=lost&channel=ch`);
      for (let i = 0; i < 3; i++) {
        await pub(`${a.httpUrl}/pub?topic=kept`, `k${i}`);
        await pub(`${a.httpUrl}/pub?topic=lost`, `l${i}`);
        await pub(`${a.httpUrl}/pub?topic=bare`, `b${i}`);
      }
      assert.equal(await a.stop(), 0);
      // As if the last rewrite of nsqd.dat had come before `late`, `lost` and `bare` were created.
      await Deno.writeTextFile(
        `${dir}/nsqd.dat`,
        '{"topics":[{"name":"kept","paused":true,"channels":[{"name":"a","paused":true}]}],"version":"1.3.0"}',
      );

      const b = await startNsqd(rt, [`--data-path=${dir}`]);
      await b.proc.waitForLine(
        /TOPIC\(kept\): channel late has files in .* but is not in nsqd\.dat: created/,
      );
      await b.proc.waitForLine(/TOPIC\(lost\): has files in .* but is not in nsqd\.dat: created/);
      const s = await b.stats();
      type C = { channel_name: string; depth: number; paused: boolean };
      type T = { topic_name: string; depth: number; paused: boolean; channels: C[] };
      assert.deepEqual(
        s.topics.map((
          t: T,
        ) => [t.topic_name, t.paused, t.depth, t.channels.map((c) => [c.channel_name, c.paused, c.depth])]),
        [
          ["bare", false, 3, []],
          ["kept", true, 0, [["a", true, 3], ["late", false, 3]]],
          ["lost", false, 0, [["ch", false, 3]]],
        ],
      );
      const meta = JSON.parse(await Deno.readTextFile(`${dir}/nsqd.dat`));
      assert.deepEqual(
        meta.topics.map((t: { name: string; channels: { name: string }[] | null }) => [
          t.name,
          (t.channels ?? []).map((c) => c.name),
        ]),
        [["bare", []], ["kept", ["a", "late"]], ["lost", ["ch"]]],
      );
      assert.equal(await b.stop(), 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
