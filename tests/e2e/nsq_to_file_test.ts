/**
 * nsq_to_file (shared/nsq-reference.md §10.5) against a real nsqd, on Deno and on Bun: the output
 * format byte for byte (one body + `\n` per message), file name tokens, gzip members, rotation by
 * size and interval, the move from the work dir, topic discovery with `--topic-pattern`, the flag
 * and startup errors, and no loss across SIGTERM and SIGKILL (a message is FINed only once synced).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  channelStats,
  type ChildProcess,
  type NsqdProcess,
  runApp,
  type Runtime,
  runtimeTest,
  startApp,
  startNsqd,
  startNsqlookupd,
  until,
} from "./harness.ts";

async function mpub(nsqd: NsqdProcess, topic: string, bodies: string[]): Promise<void> {
  const res = await nsqd.http(`/mpub?topic=${topic}`, { method: "POST", body: bodies.join("\n") });
  assert.equal(res.status, 200, await res.text());
}

function files(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function lines(bytes: Uint8Array): string[] {
  const text = new TextDecoder().decode(bytes);
  assert.ok(text === "" || text.endsWith("\n"), `ends with a newline: ${JSON.stringify(text.slice(-20))}`);
  return text === "" ? [] : text.slice(0, -1).split("\n");
}

async function stopApp(proc: ChildProcess): Promise<number> {
  proc.signal("SIGTERM");
  const timer = setTimeout(() => proc.signal("SIGKILL"), 10_000);
  const status = await proc.status;
  clearTimeout(timer);
  return status.code;
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "nsq-to-file-" });
}

async function withNsqdAndDir(
  rt: Runtime,
  fn: (nsqd: NsqdProcess, dir: string) => Promise<void>,
  args: string[] = [],
): Promise<void> {
  const nsqd = await startNsqd(rt, args);
  const dir = await tempDir();
  try {
    await fn(nsqd, dir);
  } finally {
    await nsqd.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

runtimeTest(
  "nsq_to_file writes each body and a newline, names the file from its tokens, and exits 0 on SIGTERM with everything FINed",
  async (rt) => {
    await withNsqdAndDir(rt, async (nsqd, dir) => {
      const bodies = ["first", "with spaces\tand tab", "ünïcödé", '{"json":true}', "last"];
      await mpub(nsqd, "plain", bodies);
      const app = startApp(rt, "nsq_to_file", [
        "--topic=plain",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--output-dir=${dir}`,
        "--host-identifier=box-<SHORT_HOST>",
        "--filename-format=<TOPIC>/<HOST>.<PID>.<DATETIME><REV>.log",
        "--datetime-format=%Y",
        "--sync-interval=200ms",
      ]);
      const year = String(new Date().getFullYear());
      const sub = join(dir, "plain");
      await until("the messages are synced", async () => {
        assert.equal(files(sub).length, 1);
        const ch = await channelStats(nsqd, "plain", "nsq_to_file");
        assert.equal(ch?.depth, 0);
        assert.equal(ch?.in_flight_count, 0);
      }, 10_000);
      const name = files(sub)[0];
      assert.match(name, new RegExp(`^box-[^.]+\\.${app.pid}\\.${year}\\.log$`), name);
      assert.equal(readFileSync(join(sub, name), "utf8"), bodies.map((b) => b + "\n").join(""));
      assert.ok(
        app.stderr.includes(`[nsq_to_file] `) && app.stderr.includes(`[plain/nsq_to_file] opening ${sub}/`),
      );
      assert.match(app.stderr, /INFO: \[plain\/nsq_to_file\] syncing 5 records to disk/);
      assert.equal(await stopApp(app), 0, app.stderr);
      // Restarted: the same file is appended to (no <REV> without gzip, rotation or work dir).
      await mpub(nsqd, "plain", ["again"]);
      const again = startApp(rt, "nsq_to_file", [
        "--topic=plain",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--output-dir=${dir}`,
        "--filename-format=plain.log",
        "--sync-interval=100ms",
      ]);
      await until("the message is synced", () => {
        assert.equal(readFileSync(join(dir, "plain.log"), "utf8"), "again\n");
      }, 10_000);
      assert.equal(await stopApp(again), 0);
      await mpub(nsqd, "plain", ["third"]);
      const third = startApp(rt, "nsq_to_file", [
        "--topic=plain",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--output-dir=${dir}`,
        "--filename-format=plain.log",
        "--sync-interval=100ms",
      ]);
      await until("appended", () => {
        assert.equal(readFileSync(join(dir, "plain.log"), "utf8"), "again\nthird\n");
      }, 10_000);
      assert.equal(await stopApp(third), 0);
    });
  },
);

runtimeTest(
  "nsq_to_file --gzip --rotate-size --work-dir: rotated gzip files move to the output dir, every message once, in order",
  async (rt) => {
    await withNsqdAndDir(rt, async (nsqd, dir) => {
      const out = join(dir, "out"), work = join(dir, "work");
      // 10-byte lines; a file rotates once it holds more than 45 bytes: 5 lines per file.
      const bodies = Array.from({ length: 23 }, (_, i) => `msg-${String(i).padStart(5, "0")}`);
      await mpub(nsqd, "gz", bodies);
      const app = startApp(rt, "nsq_to_file", [
        "--topic=gz",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--output-dir=${out}`,
        `--work-dir=${work}`,
        "--gzip",
        "--gzip-level=9",
        "--rotate-size=45",
        "--host-identifier=h",
        "--datetime-format=D",
        "--sync-interval=200ms",
        "--max-in-flight=1",
      ]);
      await until("all synced", async () => {
        const ch = await channelStats(nsqd, "gz", "nsq_to_file");
        assert.equal(ch?.depth, 0);
        assert.equal(ch?.in_flight_count, 0);
      }, 10_000);
      // Finished files are in the output dir already; the open one is still in the work dir.
      assert.deepEqual(files(out), [0, 1, 2, 3].map((r) => `gz.h-00000${r}.D.log.gz`));
      assert.deepEqual(files(work), ["gz.h-000004.D.log.gz"]);
      assert.equal(await stopApp(app), 0, app.stderr);
      assert.deepEqual(files(work), []);
      const names = files(out);
      assert.deepEqual(names, [0, 1, 2, 3, 4].map((r) => `gz.h-00000${r}.D.log.gz`));
      const got: string[] = [];
      for (const [i, name] of names.entries()) {
        const raw = readFileSync(join(out, name));
        assert.deepEqual([...raw.subarray(0, 2)], [0x1f, 0x8b], "gzip magic");
        const l = lines(gunzipSync(raw));
        assert.equal(l.length, i < 4 ? 5 : 3, name);
        got.push(...l);
      }
      assert.deepEqual(got, bodies);
    });
  },
);

runtimeTest(
  "nsq_to_file --rotate-interval opens new revisions, --skip-empty-files leaves no empty file behind",
  async (rt) => {
    await withNsqdAndDir(rt, async (nsqd, dir) => {
      await mpub(nsqd, "iv", ["a", "b"]);
      const app = startApp(rt, "nsq_to_file", [
        "--topic=iv",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--output-dir=${dir}`,
        "--rotate-interval=300ms",
        "--sync-interval=100ms",
        "--skip-empty-files",
        "--filename-format=<TOPIC><REV>.log",
      ]);
      await until(
        "first file",
        () => assert.equal(readFileSync(join(dir, "iv-000000.log"), "utf8"), "a\nb\n"),
        10_000,
      );
      await new Promise((r) => setTimeout(r, 800));
      await mpub(nsqd, "iv", ["c"]);
      await until(
        "second file",
        () => assert.equal(readFileSync(join(dir, "iv-000001.log"), "utf8"), "c\n"),
        10_000,
      );
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await stopApp(app), 0, app.stderr);
      assert.deepEqual(files(dir), ["iv-000000.log", "iv-000001.log"]);

      // Without --skip-empty-files the timer opens a new (empty) file every period.
      await mpub(nsqd, "iv2", ["x"]);
      const dir2 = join(dir, "two");
      const app2 = startApp(rt, "nsq_to_file", [
        "--topic=iv2",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--output-dir=${dir2}`,
        "--rotate-interval=200ms",
        "--sync-interval=100ms",
        "--filename-format=<TOPIC><REV>.log",
      ]);
      await until("three files", () => assert.ok(files(dir2).length >= 3, files(dir2).join(",")), 10_000);
      assert.equal(await stopApp(app2), 0);
      const contents = files(dir2).map((f) => readFileSync(join(dir2, f), "utf8"));
      assert.equal(contents.join(""), "x\n");
      assert.equal(contents.filter((c) => c === "").length, contents.length - 1);
    });
  },
);

runtimeTest(
  "nsq_to_file loses nothing across SIGTERM and SIGKILL mid-stream: every message is on disk, none twice after a SIGTERM",
  async (rt) => {
    await withNsqdAndDir(rt, async (nsqd, dir) => {
      const total = 3000;
      const all = Array.from({ length: total }, (_, i) => `m${i}`);
      const args = (outDir: string, extra: string[]) => [
        "--topic=loss",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--output-dir=${outDir}`,
        "--filename-format=<TOPIC>.<PID>.log",
        "--max-in-flight=50",
        ...extra,
      ];
      // Publish in batches while the tool runs; SIGTERM it halfway.
      const publishing = (async () => {
        for (let i = 0; i < total; i += 100) {
          await mpub(nsqd, "loss", all.slice(i, i + 100));
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const first = startApp(rt, "nsq_to_file", args(dir, ["--sync-interval=50ms"]));
      await until("some messages written", () => {
        const written = files(dir).reduce((n, f) => n + readFileSync(join(dir, f), "utf8").length, 0);
        assert.ok(written > 2000);
      }, 10_000);
      assert.equal(await stopApp(first), 0, first.stderr);
      const afterTerm = files(dir).flatMap((f) => lines(readFileSync(join(dir, f))));
      assert.equal(new Set(afterTerm).size, afterTerm.length, "no duplicates after a SIGTERM");
      // Second run: a long sync interval, so writes sit unsynced (un-FINed) when it is SIGKILLed.
      const second = startApp(rt, "nsq_to_file", args(dir, ["--sync-interval=1h", "--max-in-flight=2500"]));
      await until("more messages written", () => {
        const n = files(dir).flatMap((f) => lines(readFileSync(join(dir, f)))).length;
        assert.ok(n > afterTerm.length + 10);
      }, 10_000);
      await publishing;
      second.signal("SIGKILL");
      await second.status;
      // Third run collects the rest, including what the killed one wrote without FINing it.
      const third = startApp(rt, "nsq_to_file", args(dir, ["--sync-interval=100ms"]));
      await until("everything consumed and FINed", async () => {
        const ch = await channelStats(nsqd, "loss", "nsq_to_file");
        const { clients: _, ...summary } = ch ?? {};
        const what = `${JSON.stringify(summary)}\n${third.stderr.split("\n").slice(-4).join("\n")}`;
        assert.equal(ch?.depth, 0, what);
        assert.equal(ch?.in_flight_count, 0, what);
        assert.equal(ch?.deferred_count, 0, what);
      }, 15_000);
      assert.equal(await stopApp(third), 0, third.stderr);
      const seen = files(dir).flatMap((f) => lines(readFileSync(join(dir, f))));
      const distinct = new Set(seen);
      assert.deepEqual([...all].filter((m) => !distinct.has(m)), [], "every message is on disk");
      assert.equal(distinct.size, total);
      assert.ok(seen.every((m) => all.includes(m)));
      // nsqd redelivers a killed consumer's in-flight messages after the message timeout.
    }, ["--msg-timeout=2s"]);
  },
  40_000,
);

runtimeTest(
  "nsq_to_file --topic-pattern follows nsqlookupd's topics, skipping those that do not match",
  async (rt) => {
    const lookupd = await startNsqlookupd(rt);
    const nsqd = await startNsqd(rt, [`--lookupd-tcp-address=127.0.0.1:${lookupd.tcpPort}`]);
    const dir = await tempDir();
    try {
      await mpub(nsqd, "keep_a", ["a1"]);
      await mpub(nsqd, "drop_b", ["b1"]);
      await until("registered", async () => {
        const t = await (await lookupd.http("/topics")).json();
        assert.equal(t.topics.length, 2);
      });
      const app = startApp(rt, "nsq_to_file", [
        "--topic-pattern=^keep_",
        `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`,
        `--output-dir=${dir}`,
        "--filename-format=<TOPIC>.log",
        "--topic-refresh=300ms",
        "--sync-interval=100ms",
        "--consumer-opt=lookupd_poll_interval,200ms",
      ]);
      await until(
        "keep_a written",
        () => assert.equal(readFileSync(join(dir, "keep_a.log"), "utf8"), "a1\n"),
        10_000,
      );
      await mpub(nsqd, "keep_c", ["c1"]);
      await until(
        "keep_c found",
        () => assert.equal(readFileSync(join(dir, "keep_c.log"), "utf8"), "c1\n"),
        10_000,
      );
      assert.equal(await stopApp(app), 0, app.stderr);
      assert.deepEqual(files(dir), ["keep_a.log", "keep_c.log"]);
      assert.match(app.stderr, /skipping topic drop_b \(doesn't match pattern \^keep_\)/);
    } finally {
      await nsqd.stop();
      await lookupd.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);

runtimeTest(
  "nsq_to_file refuses bad flags (exit 2) and bad values (exit 1) with upstream's messages",
  async (rt) => {
    const version = await runApp(rt, "nsq_to_file", ["--version"]);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^nsq_to_file v1\.3\.0/);
    const cases: [string[], number, string][] = [
      [["--nope"], 2, "flag provided but not defined: -nope"],
      [
        ["--topic=t", "--nsqd-tcp-address=x:1", "--consumer-opt=max_attempts,x"],
        2,
        'invalid value "max_attempts,x" for flag -consumer-opt: failed to coerce option max_attempts (x)',
      ],
      [["--topic=t", "--nsqd-tcp-address=x:1", "--consumer-opt=bogus,1"], 2, "invalid option bogus"],
      [["--topic=t"], 1, "--nsqd-tcp-address or --lookupd-http-address required"],
      [
        ["--topic=t", "--nsqd-tcp-address=a:1", "--lookupd-http-address=b:2"],
        1,
        "use --nsqd-tcp-address or --lookupd-http-address not both",
      ],
      [["--nsqd-tcp-address=a:1"], 1, "--topic or --topic-pattern required"],
      [
        ["--topic-pattern=x", "--nsqd-tcp-address=a:1"],
        1,
        "--lookupd-http-address must be specified when no --topic specified",
      ],
      [
        ["--topic=t", "--nsqd-tcp-address=a:1", "--gzip-level=10"],
        1,
        "invalid --gzip-level value (10), should be 1-9",
      ],
      [["--topic=t", "--nsqd-tcp-address=a:1", "--log-level=loud"], 1, "--log-level is invalid"],
      [["--topic=t", "--nsqd-tcp-address=a:1", "--channel="], 1, "--channel is required"],
      [["--topic=t", "--nsqd-tcp-address=a:1", "extra"], 1, "unknown arguments: extra"],
    ];
    for (const [args, code, text] of cases) {
      const r = await runApp(rt, "nsq_to_file", args);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.includes(text), `${args.join(" ")}: ${r.stderr}`);
      if (code === 2) assert.ok(r.stderr.includes("Usage of nsq_to_file:"));
      else assert.match(r.stderr, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /);
    }
  },
);

runtimeTest(
  "nsq_to_file skips a topic whose file name lacks <REV> when gzip needs one, and keeps running",
  async (rt) => {
    await withNsqdAndDir(rt, async (nsqd, dir) => {
      await mpub(nsqd, "norev", ["x"]);
      const app = startApp(rt, "nsq_to_file", [
        "--topic=norev",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--output-dir=${dir}`,
        "--gzip",
        "--filename-format=<TOPIC>.log",
      ]);
      await app.waitForLine(
        /couldn't create logger for new topic norev: missing <REV> in --filename-format when gzip, rotation, or work dir enabled/,
        10_000,
      );
      assert.equal(await stopApp(app), 0);
      assert.deepEqual(files(dir), []);
    });
  },
);
