import assert from "node:assert/strict";
import { runtimeTest, withNsqd } from "./harness.ts";

async function fetchNoFollow(url: string, method = "GET") {
  const res = await fetch(url, { method, redirect: "manual" });
  return {
    status: res.status,
    location: res.headers.get("location"),
    body: await res.text(),
    ct: res.headers.get("content-type"),
  };
}

runtimeTest(
  "paths with a trailing slash or the wrong case are redirected as httprouter does (301 GET, 308 others)",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const base = nsqd.httpUrl;
      const slash = await fetchNoFollow(`${base}/ping/`);
      assert.deepEqual([slash.status, slash.location], [301, "/ping"]);
      assert.equal(slash.body, '<a href="/ping">Moved Permanently</a>.\n\n');
      assert.equal(slash.ct, "text/html; charset=utf-8");
      assert.deepEqual((await fetchNoFollow(`${base}/PING`)).location, "/ping");
      const stats = await fetchNoFollow(`${base}/Stats?format=json`);
      assert.deepEqual([stats.status, stats.location], [301, "/stats?format=json"]);
      assert.deepEqual((await fetchNoFollow(`${base}//info`)).location, "/info");
      assert.deepEqual((await fetchNoFollow(`${base}/config/msg_timeout/`)).location, "/config/msg_timeout");
      const pub = await fetchNoFollow(`${base}/pub/?topic=t`, "POST");
      assert.deepEqual([pub.status, pub.location, pub.body], [308, "/pub?topic=t", ""]);
      // Only to a route of the same method; otherwise the usual 404 / 405.
      assert.equal((await fetchNoFollow(`${base}/nope/`)).status, 404);
      assert.equal((await fetchNoFollow(`${base}/ping/`, "POST")).status, 404);
      assert.equal((await fetchNoFollow(`${base}/ping`, "POST")).status, 405);
    });
  },
);
