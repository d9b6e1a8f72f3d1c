/**
 * nsqd.dat: how `MetadataWriter` spaces out rewrites in a burst of changes (on a fake clock, whose
 * time a write "takes" is set by the test), and which topics and channels `queuesWithFiles` finds.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  MAX_METADATA_DELAY_MS,
  type MetadataSource,
  MetadataWriter,
  queuesWithFiles,
  readMetadata,
} from "../../src/nsqd/metadata.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type SourceTopic = MetadataSource["topics"][number];

function topic(name: string): SourceTopic {
  return { name, ephemeral: false, paused: false, maxMsgAge: 0, channels: [] };
}

Deno.test("MetadataWriter writes on the next turn after a quiet spell, and in a burst waits 9× the last write's duration (at most 1 s), writing the latest state", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nsqd-meta-"));
  try {
    let clock = 1_000_000; // fake ms
    let writeTakes = 0; // fake ms a write takes (added while the metadata is built)
    let writes = 0;
    const topics: SourceTopic[] = [topic("t0")];
    const source: MetadataSource = {
      get topics() {
        writes++;
        clock += writeTakes;
        return topics;
      },
    };
    const written = () =>
      (JSON.parse(readFileSync(join(dir, "nsqd.dat"), "utf8")).topics ?? []).map((t: { name: string }) =>
        t.name
      );
    const w = new MetadataWriter(dir, source, (err) => assert.fail(err.message), () => clock);

    // Quiet: the next turn.
    writeTakes = 20;
    w.request();
    w.request();
    assert.equal(w.pending, true);
    await sleep(5);
    assert.equal(writes, 1);
    assert.deepEqual(written(), ["t0"]);

    // In the burst: the last write took 20 ms, so the next one waits 180 ms, and carries every change since.
    topics.push(topic("t1"));
    w.request();
    await sleep(90);
    assert.equal(writes, 1);
    assert.equal(w.pending, true);
    topics.push(topic("t2"));
    w.request();
    await sleep(150);
    assert.equal(writes, 2);
    assert.equal(w.pending, false);
    assert.deepEqual(written(), ["t0", "t1", "t2"]);

    // A write that took 500 ms: the wait is capped (not 4.5 s). The fake clock is 10 ms short of the cap.
    writeTakes = 500;
    w.writeNow();
    assert.equal(writes, 3);
    writeTakes = 0;
    clock += MAX_METADATA_DELAY_MS - 10;
    topics.push(topic("t3"));
    w.request();
    await sleep(2);
    assert.equal(writes, 3);
    await sleep(40);
    assert.equal(writes, 4);
    assert.deepEqual(written(), ["t0", "t1", "t2", "t3"]);

    // cancel() drops a pending write.
    w.request();
    w.cancel();
    assert.equal(w.pending, false);
    await sleep(10);
    assert.equal(writes, 4);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("queuesWithFiles lists each topic and channel with disk queue files, an unacknowledged log or due times, in name order", () => {
  const dir = mkdtempSync(join(tmpdir(), "nsqd-meta-"));
  try {
    for (
      const f of [
        "nsqd.dat",
        "nsqd.dat.123.tmp",
        "b.diskqueue.meta.dat",
        "b.diskqueue.000000.dat",
        "b.diskqueue.000001.dat",
        "a:x.diskqueue.000003.dat",
        "a:y.unacked.dat",
        "c:z.deferred.dat",
        "d.diskqueue.meta.dat.42.tmp",
        "e.diskqueue.12.dat",
        "notes.txt",
      ]
    ) writeFileSync(join(dir, f), "");
    assert.deepEqual(queuesWithFiles(dir), [
      { topic: "a", channel: "x" },
      { topic: "a", channel: "y" },
      { topic: "b", channel: undefined },
      { topic: "c", channel: "z" },
    ]);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("readMetadata takes what is not a list of topics or channels for none, as upstream's nulls", () => {
  const dir = mkdtempSync(join(tmpdir(), "nsqd-meta-"));
  try {
    writeFileSync(
      join(dir, "nsqd.dat"),
      '{"topics":[{"name":"a","paused":false,"channels":5},{"name":"b","paused":true,"channels":[{"name":"c","paused":false}]}],"version":"1.2.1"}',
    );
    assert.deepEqual(readMetadata(dir), {
      topics: [
        { name: "a", paused: false, channels: null },
        { name: "b", paused: true, channels: [{ name: "c", paused: false }] },
      ],
      version: "1.2.1",
    });
    writeFileSync(join(dir, "nsqd.dat"), '{"topics":{"a":1},"version":"1.3.0"}');
    assert.deepEqual(readMetadata(dir), { topics: null, version: "1.3.0" });
    writeFileSync(join(dir, "nsqd.dat"), "{not json");
    assert.throws(() => readMetadata(dir), /^Error: failed to parse metadata in .*nsqd\.dat - /);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
