/**
 * nsqadmin's UI in a real browser (STYLE §9): Debian's Chromium (`/usr/bin/chromium`) driven by
 * playwright-core, against a real cluster (nsqlookupd, nsqd, nsqadmin on the first runtime; the UI
 * is the same code on each). Every page loads without a console error and shows the figures of
 * nsqd's `/stats`; the buttons, after their confirmation step, pause, unpause, empty, delete and
 * tombstone for real; the create form registers a topic and channel; the charts move while a
 * producer publishes. Screenshots of every page go to `test-artifacts/nsqadmin/` (git-ignored; CI
 * keeps them as artefacts).
 *
 * Without Chromium the test is skipped with a message, unless `CI` is set: in CI it must run
 * (`.ci/run` installs the package).
 */
import assert from "node:assert/strict";
import { chromium, type Page } from "playwright-core";
import { Consumer } from "nsq-ts";
import {
  type NsqadminProcess,
  type NsqdProcess,
  type NsqlookupdProcess,
  runtimesFor,
  startNsqadmin,
  startNsqd,
  startNsqlookupd,
  until,
  withTimeout,
} from "./harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = new URL("../../test-artifacts/nsqadmin/", import.meta.url).pathname;
/** The flags the machine's probe used: no sandbox as root, no network beyond localhost. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

const runtime = runtimesFor("nsqadmin")[0];
const skip = !haveChromium() && !Deno.env.get("CI");
if (skip) {
  console.warn(
    `SKIPPED nsqadmin browser tests: ${CHROMIUM} not found (apt-get install -y chromium; CI installs it)`,
  );
}

async function nsqdStats(nsqd: NsqdProcess, topic: string) {
  const body = await (await nsqd.http(`/stats?format=json&topic=${topic}`)).json();
  // deno-lint-ignore no-explicit-any
  return (body.topics ?? []).find((t: any) => t.topic_name === topic) ?? null;
}

async function post(nsqd: NsqdProcess, path: string, body = ""): Promise<void> {
  const res = await nsqd.http(path, { method: "POST", body });
  assert.equal(res.status, 200, `${path}: ${await res.text()}`);
}

/** The cells of the `tr.total` row of table `cls`, as text. */
function totalRow(page: Page, cls: string): Promise<string[]> {
  return page.locator(`table.${cls} tr.total td`).allInnerTexts();
}

/** Clicks an action button, then the dialog's Confirm (or Cancel). */
async function act(page: Page, button: string, answer: "Confirm" | "Cancel" = "Confirm"): Promise<void> {
  await page.locator(`button[data-method]`, { hasText: button }).first().click();
  const dialog = page.locator("dialog#confirm");
  await dialog.waitFor({ state: "visible" });
  if (answer === "Confirm") {
    await Promise.all([page.waitForEvent("load"), dialog.getByRole("button", { name: answer }).click()]);
  } else {
    await dialog.getByRole("button", { name: answer }).click();
  }
}

Deno.test({
  name: `[${runtime}] nsqadmin's UI works in Chromium: pages, figures, confirmed actions, live charts`,
  ignore: skip,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withTimeout(
      (async () => {
        await Deno.mkdir(ARTIFACTS, { recursive: true });
        let lookupd: NsqlookupdProcess | null = null;
        let nsqd: NsqdProcess | null = null;
        let admin: NsqadminProcess | null = null;
        let consumer: Consumer | null = null;
        let browser: Awaited<ReturnType<typeof chromium.launch>> | null = null;
        let publishing = false;
        try {
          lookupd = await startNsqlookupd(runtime);
          nsqd = await startNsqd(runtime, [
            "--broadcast-address=127.0.0.1",
            `--lookupd-tcp-address=127.0.0.1:${lookupd.tcpPort}`,
          ]);
          admin = await startNsqadmin(runtime, [`--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`]);
          const n = nsqd;
          const l = lookupd;
          const node = `127.0.0.1:${n.httpPort}`;
          for (const t of ["orders", "trash", "doomed"]) await post(n, `/topic/create?topic=${t}`);
          await post(n, "/channel/create?topic=orders&channel=archive");
          await post(n, "/mpub?topic=orders", Array.from({ length: 10 }, (_, i) => `m${i}`).join("\n"));
          consumer = new Consumer("orders", "live", {
            onError: () => {},
            maxInFlight: 3,
            userAgent: "ui-test/1.0",
          });
          consumer.addHandler(() => {});
          await consumer.connectToNsqd(`127.0.0.1:${n.tcpPort}`);
          await until("lookupd knows the three topics", async () => {
            const body = await (await l.http("/topics")).json();
            assert.equal(body.topics.length, 3);
          }, 10_000);

          browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
          const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
          const consoleErrors: string[] = [];
          page.on("console", (m) => {
            if (m.type() === "error") consoleErrors.push(`${page.url()}: ${m.text()}`);
          });
          page.on("pageerror", (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
          const url = (path: string) => `http://127.0.0.1:${admin!.httpPort}${path}`;
          const visit = async (path: string, shot: string) => {
            const res = await page.goto(url(path));
            assert.equal(res?.status(), 200, path);
            await page.screenshot({ path: `${ARTIFACTS}${shot}.png`, fullPage: true });
          };

          // Streams: every topic, its figures from /stats.
          await visit("/", "streams");
          const topicsText = await page.locator("table.topics").innerText();
          for (const t of ["orders", "trash", "doomed"]) assert.match(topicsText, new RegExp(t));

          // Topic page: the total row matches nsqd's /stats.
          await visit("/topics/orders", "topic");
          const ordersStats = await nsqdStats(n, "orders");
          const total = await totalRow(page, "topic-nodes");
          assert.equal(total[0], "Total");
          assert.equal(Number(total[1]), ordersStats.depth);
          assert.equal(Number(total[5]), ordersStats.message_count);
          assert.equal(Number(total[6]), ordersStats.channels.length);

          // Channel page: the figures and the consumer's connection.
          await visit("/topics/orders/live", "channel");
          await until("the live channel's consumer is listed", async () => {
            await page.reload();
            assert.equal(await page.locator("table.clients tr").count(), 2);
          }, 10_000);
          const client = await page.locator("table.clients tr").nth(1).locator("td").allInnerTexts();
          assert.equal(client[1], "ui-test/1.0");
          assert.equal(client[3], node);
          assert.equal(Number(client[4]), 3, "RDY");
          const liveStats = (await nsqdStats(n, "orders")).channels.find(
            (c: { channel_name: string }) => c.channel_name === "live",
          );
          assert.equal(Number(client[6]), liveStats.clients[0].finish_count);
          await page.screenshot({ path: `${ARTIFACTS}channel.png`, fullPage: true });

          // Pause, cancelled then confirmed, then unpause: nsqd's channel follows.
          await page.goto(url("/topics/orders/archive"));
          await act(page, "Pause Channel", "Cancel");
          assert.equal((await nsqdStats(n, "orders")).channels[0].paused, false);
          await act(page, "Pause Channel");
          await until("archive paused on nsqd", async () => {
            const ch = (await nsqdStats(n, "orders")).channels.find(
              (c: { channel_name: string }) => c.channel_name === "archive",
            );
            assert.equal(ch.paused, true);
          });
          await page.locator("h2 .label.paused").waitFor();
          await act(page, "UnPause Channel");
          await until("archive unpaused", async () => {
            const ch = (await nsqdStats(n, "orders")).channels.find(
              (c: { channel_name: string }) => c.channel_name === "archive",
            );
            assert.equal(ch.paused, false);
          });

          // Empty the archive channel (10 messages waiting).
          await act(page, "Empty Queue");
          await until("archive emptied", async () => {
            const ch = (await nsqdStats(n, "orders")).channels.find(
              (c: { channel_name: string }) => c.channel_name === "archive",
            );
            assert.equal(ch.depth, 0);
          });

          // Topic pause from its page.
          await page.goto(url("/topics/orders"));
          await act(page, "Pause Topic");
          await until("orders paused", async () => assert.equal((await nsqdStats(n, "orders")).paused, true));
          await act(page, "UnPause Topic");
          await until("orders unpaused", async () =>
            assert.equal((await nsqdStats(n, "orders")).paused, false));

          // Delete a topic; tombstone another on its node.
          await page.goto(url("/topics/trash"));
          await act(page, "Delete Topic");
          assert.equal(new URL(page.url()).pathname, "/");
          await until("trash deleted", async () =>
            assert.equal(await nsqdStats(n, "trash"), null));
          await page.goto(url("/topics/doomed"));
          await act(page, "✘");
          // nsqadmin tombstones the producer in lookupd, then deletes the topic on that nsqd.
          await until("doomed tombstoned and deleted", async () => {
            assert.equal(await nsqdStats(n, "doomed"), null);
            const body = await (await l.http("/lookup?topic=doomed")).json();
            assert.deepEqual(body.producers, []);
          });

          // Nodes, node page (totals as /stats), counter, lookup (create form).
          await visit("/nodes", "nodes");
          assert.equal(await page.locator("table.nodes tr").count(), 2);
          await page.locator("table.nodes a", { hasText: "127.0.0.1" }).click();
          await page.waitForURL(/\/nodes\//);
          const all = await (await n.http("/stats?format=json")).json();
          // deno-lint-ignore no-explicit-any
          const sum = all.topics.reduce((s: number, t: any) => s + t.message_count, 0);
          assert.equal(Number(await page.locator(".total-messages").innerText()), sum);
          await page.screenshot({ path: `${ARTIFACTS}node.png`, fullPage: true });
          await visit("/counter", "counter");
          // deno-lint-ignore no-explicit-any
          const processed = all.topics.flatMap((t: any) => t.channels).reduce(
            // deno-lint-ignore no-explicit-any
            (s: number, c: any) => s + c.message_count,
            0,
          );
          assert.equal(Number((await page.locator("#counter").innerText()).replace(/,/g, "")), processed);
          await visit("/lookup", "lookup");
          await page.fill("input[name=topic]", "created");
          await page.fill("input[name=channel]", "fresh");
          await Promise.all([page.waitForEvent("load"), page.click("form.create button[type=submit]")]);
          await until("created registered in lookupd", async () => {
            const body = await (await l.http("/channels?topic=created")).json();
            assert.deepEqual(body.channels, ["fresh"]);
          });
          const inactive = await page.locator("ul.inactive").innerText();
          assert.match(inactive, /created/);
          assert.match(inactive, /doomed/, "a topic without producers left");

          // Charts move while a producer publishes.
          await page.goto(url("/topics/orders"));
          publishing = true;
          const producer = (async () => {
            while (publishing) {
              await post(n, "/mpub?topic=orders", Array.from({ length: 50 }, (_, i) => `p${i}`).join("\n"));
              await new Promise((r) => setTimeout(r, 100));
            }
          })();
          // (page-side code as strings: this file is type-checked without the DOM library)
          await page.waitForFunction(
            `(() => {
              const chart = document.querySelector("[data-chart^='topic:']");
              const rates = JSON.parse(chart?.dataset.rates ?? "{}");
              return rates.published > 0 && rates["live consumed"] > 0 && Number(chart.dataset.samples) >= 5;
            })()`,
            undefined,
            { timeout: 20_000 },
          );
          const points = await page.locator("polyline[data-series='published']").getAttribute("points");
          assert.ok((points ?? "").split(" ").length >= 2, points ?? "");
          await page.screenshot({ path: `${ARTIFACTS}topic-live.png`, fullPage: true });
          await page.setViewportSize({ width: 390, height: 844 });
          await page.screenshot({ path: `${ARTIFACTS}topic-phone.png`, fullPage: true });
          const overflow = await page.evaluate<number>(
            "document.documentElement.scrollWidth - window.innerWidth",
          );
          assert.ok(overflow <= 1, `page wider than a phone by ${overflow}px`);
          publishing = false;
          await producer;

          assert.deepEqual(consoleErrors, []);
        } finally {
          publishing = false;
          await browser?.close().catch(() => {});
          await consumer?.stop().catch(() => {});
          await Promise.all(
            [admin, nsqd, lookupd].filter((p) => p !== null).map((p) => p!.stop().catch(() => 0)),
          );
        }
      })(),
      55_000,
      "nsqadmin browser test",
    ),
});
