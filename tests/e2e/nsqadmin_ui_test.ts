/**
 * nsqadmin's server-rendered pages (shared/nsq-reference.md §11.7) fetched as HTML from a real
 * cluster (1 nsqlookupd, 2 nsqds) on each runtime, under a `--base-path`: the topic list links to
 * each topic, a topic page shows a row per nsqd plus the total and its channels, and only admins see
 * the action buttons. Browser tests (clicking them) come later.
 */
import assert from "node:assert/strict";
import {
  type NsqadminProcess,
  type NsqdProcess,
  runtimesFor,
  startNsqadmin,
  startNsqd,
  startNsqlookupd,
  until,
  withTimeout,
} from "./harness.ts";

async function html(admin: NsqadminProcess, path: string, user?: string): Promise<string> {
  const res = await admin.http(path, { headers: user ? { "X-Forwarded-User": user } : {} });
  assert.equal(res.status, 200, path);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  const text = await res.text();
  assert.ok(text.startsWith("<!DOCTYPE html><html"), text.slice(0, 80));
  assert.ok(!/<(script|link|img)[^>]+(src|href)="(?!data:)/.test(text), "no external assets");
  return text;
}

/** The text of each row of the table with `class`, cells joined by `|`. */
function rows(page: string, cls: string): string[] {
  const table = page.match(new RegExp(`<table class="${cls}">(.*?)</table>`))?.[1] ?? "";
  return [...table.matchAll(/<tr[^>]*>(.*?)<\/tr>/g)].map((m) =>
    [...m[1].matchAll(/<t[dh][^>]*>(.*?)<\/t[dh]>/g)]
      .map((c) => c[1].replace(/<button.*?<\/button>/g, "").replace(/<[^>]+>/g, "")).join("|")
  );
}

async function publish(nsqd: NsqdProcess, topic: string, n: number): Promise<void> {
  const body = Array.from({ length: n }, (_, i) => `m${i}`).join("\n");
  const res = await nsqd.http(`/mpub?topic=${topic}`, { method: "POST", body });
  assert.equal(await res.text(), "OK");
}

for (const runtime of runtimesFor("nsqadmin")) {
  Deno.test({
    name: `[${runtime}] nsqadmin's topic list and topic page render the cluster as HTML`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () =>
      withTimeout(
        (async () => {
          const lookupd = await startNsqlookupd(runtime);
          const nsqds = await Promise.all([0, 1].map(() =>
            startNsqd(runtime, [
              "--broadcast-address=127.0.0.1",
              `--lookupd-tcp-address=127.0.0.1:${lookupd.tcpPort}`,
            ])
          ));
          let admin: NsqadminProcess | null = null;
          try {
            admin = await startNsqadmin(runtime, [
              `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`,
              "--base-path=/admin",
              "--admin-user=alice",
            ]);
            const a = admin;
            const [n1, n2] = nsqds;
            // The channel exists on both before anything is published, so the counts are exact.
            for (const n of nsqds) {
              for (
                const path of ["/topic/create?topic=orders", "/channel/create?topic=orders&channel=archive"]
              ) {
                const res = await n.http(path, { method: "POST" });
                assert.equal(res.status, 200, await res.text());
              }
            }
            await Promise.all([publish(n1, "orders", 3), publish(n2, "orders", 2), publish(n2, "zeta", 1)]);
            await until("both nsqds registered orders", async () => {
              const body = await (await a.http("/admin/api/topics/orders")).json();
              assert.equal(body.nodes.length, 2);
            }, 10_000);
            // A topic created at runtime holds its messages until the lookupds have said which channels
            // to pre-create (§3.1); on a loaded machine that answer can come after the publish.
            await until("both nsqds moved orders' messages to its channel", async () => {
              for (const n of nsqds) {
                const stats = await (await n.http("/stats?format=json&topic=orders")).json();
                assert.equal(stats.topics[0].depth, 0);
              }
            }, 10_000);

            const list = await html(a, "/admin/");
            assert.match(list, /<h2>Topics<\/h2>/);
            const topicsTable = list.match(/<table class="topics">.*?<\/table>/)?.[0] ?? "";
            assert.deepEqual(
              [...topicsTable.matchAll(/<a href="([^"]+)">([^<]+)<\/a>/g)].map((m) => [m[1], m[2]]),
              [["/admin/topics/orders", "orders"], ["/admin/topics/zeta", "zeta"]],
            );
            assert.deepEqual(rows(list, "topics").slice(1).map((r) => r.split("|").slice(0, 5).join("|")), [
              "orders|0|5|1|2",
              "zeta|1|1|0|1",
            ]);
            for (const nav of ["Streams", "Nodes", "Counter", "Lookup"]) {
              assert.ok(list.includes(`>${nav}</a>`), nav);
            }

            const topic = await html(a, "/admin/topics/orders", "alice");
            assert.match(topic, /<h2>Topic: orders<\/h2>/);
            const addr = (n: NsqdProcess) => `127.0.0.1:${n.httpPort}`;
            const nodeRows = rows(topic, "topic-nodes");
            assert.equal(nodeRows[0], "NSQd Host|Depth|Memory + Disk|In-Flight|Deferred|Messages|Channels");
            assert.deepEqual(
              nodeRows.slice(1, 3).sort(),
              [
                `${addr(n1)}|0|0 + 0|0|0|3|1`,
                `${addr(n2)}|0|0 + 0|0|0|2|1`,
              ].sort(),
            );
            assert.equal(nodeRows[3], "Total|0|0 + 0|0|0|5|1");
            assert.deepEqual(rows(topic, "channels").slice(1), ["archive|5|5 + 0|0|0|0|0|5|0"]);
            for (const label of ["Empty Queue", "Pause Topic", "Delete Topic"]) {
              assert.ok(topic.includes(label), label);
            }

            const asBob = await html(a, "/admin/topics/orders", "bob");
            assert.ok(!asBob.includes(" data-method="), "no action buttons for a non-admin");
            const missing = await html(a, "/admin/topics/nope");
            assert.match(missing, /No producers exist for this topic/);
          } finally {
            await Promise.all(
              [...(admin ? [admin] : []), ...nsqds, lookupd].map((p) => p.stop().catch(() => 0)),
            );
          }
        })(),
        30_000,
        "nsqadmin UI test",
      ),
  });
}
