/**
 * Issue 12, full disk: nsqd's data path on a small tmpfs that the test fills. While writes fail nsqd is
 * unhealthy (`/ping` 500 `NOK - …`) and refuses publishes with upstream's errors (fatal `E_PUB_FAILED` /
 * `E_MPUB_FAILED`, HTTP 503 `EXITING`); it keeps everything it acknowledged (also across a SIGKILL) and is
 * healthy again once a write succeeds. Needs root (mount); ignored otherwise.
 */
import assert from "node:assert/strict";
import { canMount, fill, mountTmpfs, unmount } from "../tmpfs.ts";
import { FRAME_ERROR, FRAME_MESSAGE, FRAME_RESPONSE, type NsqConn, RUNTIMES, startNsqd } from "./harness.ts";

const body = (i: number) => `full-${String(i).padStart(6, "0")}-${"x".repeat(1000)}`;

/** PUBs one at a time until nsqd answers an error; returns the acknowledged bodies and that error. */
async function publishUntilError(
  conn: NsqConn,
  from: number,
  max: number,
): Promise<{ acked: string[]; error: string }> {
  const acked: string[] = [];
  for (let i = from; i < from + max; i++) {
    await conn.command("PUB t", body(i));
    const f = await conn.readNonHeartbeat(10_000);
    if (f.type === FRAME_ERROR) return { acked, error: f.text };
    assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
    acked.push(body(i));
  }
  return { acked, error: "" };
}

for (const rt of RUNTIMES) {
  Deno.test({
    name:
      `[${rt}] a full disk makes nsqd unhealthy and refuse publishes; it keeps what it acknowledged and recovers`,
    ignore: !canMount,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "nsqd-full-disk-" });
      await mountTmpfs(dir, "3m");
      const args = [`--data-path=${dir}`, "--mem-queue-size=0", "--sync-every=1"];
      let nsqd = await startNsqd(rt, args);
      try {
        for (const path of ["/topic/create?topic=t", "/channel/create?topic=t&channel=c"]) {
          assert.equal(await (await nsqd.http(path, { method: "POST" })).text(), "");
        }
        // Leave ~300 KB: a few hundred 1 KB messages fit.
        const filler = `${dir}/filler`;
        await Deno.writeFile(filler, new Uint8Array(2_700_000));

        let conn = await nsqd.connectV2();
        const first = await publishUntilError(conn, 0, 5000);
        assert.ok(first.acked.length > 50, `some fit before the disk filled (${first.acked.length})`);
        assert.match(first.error, /^E_PUB_FAILED PUB failed /, "a fatal E_PUB_FAILED with the write error");
        await conn.expectClosed();
        fill(filler); // not even a small write fits now

        const ping = await nsqd.http("/ping");
        assert.equal(ping.status, 500);
        assert.match(await ping.text(), /^NOK - /);

        conn = await nsqd.connectV2();
        await conn.write(
          new Uint8Array([
            ...new TextEncoder().encode("MPUB t\n"),
            ...[0, 0, 0, 16, 0, 0, 0, 2, 0, 0, 0, 2, 0x61, 0x61, 0, 0, 0, 2, 0x62, 0x62],
          ]),
        );
        const mpub = await conn.readNonHeartbeat(10_000);
        assert.equal(mpub.type, FRAME_ERROR);
        assert.match(mpub.text, /^E_MPUB_FAILED MPUB failed /);
        conn.close();

        const http = await nsqd.http("/pub?topic=t", { method: "POST", body: "over http" });
        assert.deepEqual([http.status, await http.json()], [503, { message: "EXITING" }]);

        // Space again: the next publish succeeds and health comes back.
        await Deno.remove(filler);
        conn = await nsqd.connectV2();
        const second = await publishUntilError(conn, 100_000, 20);
        assert.equal(second.error, "", "publishing works again");
        assert.equal(await (await nsqd.http("/ping")).text(), "OK");
        conn.close();

        // Full again, then killed: whatever was acknowledged is still there after the restart.
        await Deno.writeFile(filler, new Uint8Array(2_000_000));
        conn = await nsqd.connectV2();
        const third = await publishUntilError(conn, 200_000, 5000);
        assert.match(third.error, /^E_PUB_FAILED /);
        conn.close();
        await nsqd.stop("SIGKILL");
        if (Deno.env.get("DEBUG_FULL")) {
          console.log(
            nsqd.proc.stderr.split("\n").filter((l) => /DISKQUEUE|ERROR|WARN/.test(l)).slice(-15).join("\n"),
          );
          for (const f of Deno.readDirSync(dir)) console.log(f.name, Deno.statSync(`${dir}/${f.name}`).size);
          console.log(Deno.readTextFileSync(`${dir}/t:c.diskqueue.meta.dat`));
        }
        await Deno.remove(filler);
        nsqd = await startNsqd(rt, args);
        if (Deno.env.get("DEBUG_FULL")) console.log(nsqd.proc.stderr);

        const want = [...first.acked, ...second.acked, ...third.acked];
        const sub = await nsqd.connectV2();
        await sub.sub("t", "c");
        await sub.rdy(200);
        const got: string[] = [];
        for (;;) {
          let f;
          try {
            f = await sub.readNonHeartbeat(1500);
          } catch {
            break; // nothing more
          }
          assert.equal(f.type, FRAME_MESSAGE, f.text);
          got.push(new TextDecoder().decode(f.data.subarray(26)));
          await sub.fin(new TextDecoder().decode(f.data.subarray(10, 26)));
        }
        const short = (list: string[]) => list.map((b) => b.slice(0, 11));
        assert.deepEqual(
          short(want.filter((b) => !got.includes(b))),
          [],
          "every acknowledged message is delivered",
        );
        // A refused publish was taken back: what comes out is exactly what was acknowledged, once.
        assert.deepEqual(short(got).sort(), short(want).sort(), "nothing refused or duplicated comes out");
        sub.close();
      } finally {
        await nsqd.stop("SIGKILL").catch(() => {});
        await unmount(dir).catch(() => {});
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  });
}
