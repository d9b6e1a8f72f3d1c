import assert from "node:assert/strict";
import {
  BINARY_VERSION,
  builtWith,
  NSQ_VERSION,
  RELEASE_VERSION,
  userAgent,
  versionString,
} from "../../src/internal/version.ts";

// The pattern client harnesses (gnsq) apply to `--version`: see tests/e2e/version_test.ts.
const VERSION_LINE = /^(nsqd|nsqlookupd) v(\d+\.\d+\.\d+)(-[a-z0-9.]+)? \(built w\/([a-z0-9.-]+)\)$/;

Deno.test("NSQ_VERSION is a plain X.Y.Z, so semver comparisons of JSON version fields see 1.3.0", () => {
  assert.match(NSQ_VERSION, /^\d+\.\d+\.\d+$/);
  assert.equal(NSQ_VERSION, "1.3.0");
});

Deno.test("BINARY_VERSION is the NSQ version with our release as suffix", () => {
  assert.equal(BINARY_VERSION, `${NSQ_VERSION}-ts${RELEASE_VERSION}`);
});

Deno.test("versionString() reads like upstream's version.String(app)", () => {
  const line = versionString("nsqd", { name: "deno", version: "2.9.6" });
  assert.equal(line, `nsqd v${NSQ_VERSION}-ts${RELEASE_VERSION} (built w/deno2.9.6)`);
  assert.deepEqual(line.match(VERSION_LINE)?.slice(1), [
    "nsqd",
    NSQ_VERSION,
    `-ts${RELEASE_VERSION}`,
    "deno2.9.6",
  ]);
  assert.match(versionString("nsqlookupd", { name: "bun", version: "1.4.5" }), VERSION_LINE);
});

Deno.test("builtWith() keeps only lowercase letters, digits, dots and dashes", () => {
  assert.equal(
    builtWith({ name: "bun", version: "1.2.3-canary.20240101+abc123" }),
    "bun1.2.3-canary.20240101-abc123",
  );
  assert.equal(builtWith({ name: "Deno", version: "2.0.0 (rc)" }), "deno2.0.0--rc-");
  assert.match(versionString("nsqd", { name: "bun", version: "1.2.3-canary.1+DEADBEEF" }), VERSION_LINE);
});

Deno.test("userAgent() is product/version with the binary version", () => {
  assert.equal(userAgent("nsqd"), `nsqd/${BINARY_VERSION}`);
});

Deno.test("RELEASE_VERSION is the version of the npm package (package.json) and of the JSR package (deno.json)", async () => {
  const root = new URL("../../", import.meta.url);
  const npm = JSON.parse(await Deno.readTextFile(new URL("package.json", root)));
  const jsr = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  assert.equal(npm.version, RELEASE_VERSION);
  assert.equal(jsr.version, RELEASE_VERSION);
});
