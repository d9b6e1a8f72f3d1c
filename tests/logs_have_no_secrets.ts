/**
 * Issue 21: no AUTH secret or HTTP token reaches a log. `deno task ok` runs the whole suite (sources and
 * binaries) with `NSQ_TEST_LOG_DIR` set, so every child process's output is kept there and every secret the
 * tests hand to nsqd is listed in its `secrets.txt` (tests/e2e/harness.ts); this runs last and searches them all.
 */
import assert from "node:assert/strict";

const dir = Deno.env.get("NSQ_TEST_LOG_DIR");

Deno.test({
  name: "no log written during the e2e suite contains a secret the tests used",
  ignore: dir === undefined,
  fn() {
    const secrets = [
      ...new Set(Deno.readTextFileSync(`${dir}/secrets.txt`).split("\n").filter((s) => s !== "")),
    ];
    assert.ok(secrets.length >= 4, `the suite registered its secrets (${secrets.length})`);
    const needles = [...new Set(secrets.flatMap((s) => [s, encodeURIComponent(s)]))];
    let logs = 0;
    const found: string[] = [];
    for (const entry of Deno.readDirSync(dir!)) {
      if (!entry.name.endsWith(".log")) continue;
      logs++;
      const text = Deno.readTextFileSync(`${dir}/${entry.name}`);
      for (const n of needles) {
        const at = text.indexOf(n);
        if (at >= 0) found.push(`${entry.name}: …${text.slice(Math.max(0, at - 80), at + n.length + 20)}…`);
      }
    }
    assert.ok(logs > 100, `the suite's logs were kept (${logs})`);
    assert.deepEqual(found, [], "secrets in logs");
  },
});
