/**
 * The multi-call executable (`src/cli/nsq.ts`, compiled `dist/nsq`): the program chosen by the
 * first argument or by the name it is started as (a link), `nsq` alone / `--help` / `--version`,
 * an unknown program (usage, exit 2), and a daemon whose port is taken (one FATAL line, exit 1).
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { PROGRAMS as PROGRAM_TABLE } from "../../src/cli/programs.ts";
import { type ProgramName, RUNTIMES, runtimeTest } from "./harness.ts";
import { describeExit, runTool } from "./tool_runner.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PROGRAMS = Object.keys(PROGRAM_TABLE) as ProgramName[];

Deno.test("compile.sh links exactly the programs of src/cli/programs.ts, in the same order", async () => {
  const script = await Deno.readTextFile(`${ROOT}compile.sh`);
  const line = script.match(/^PROGRAMS=\(([^)]*)\)$/m);
  assert.ok(line, "compile.sh has a PROGRAMS=(…) line");
  assert.deepEqual(line[1].trim().split(/\s+/), PROGRAMS);
});

runtimeTest("nsq <program> runs that program; nsq, nsq --help and nsq --version", async (rt) => {
  const [bare, help, version, unknown, ...versions] = await Promise.all([
    runTool(rt, "nsq", []),
    runTool(rt, "nsq", ["--help"]),
    runTool(rt, "nsq", ["--version"]),
    runTool(rt, "nsq", ["nsq_bogus", "--version"]),
    ...PROGRAMS.filter((p) => p !== "to_nsq").map((p) => runTool(rt, "nsq", [p, "--version"])),
  ]);
  assert.equal(bare.code, 2, describeExit(bare));
  assert.equal(help.code, 0, describeExit(help));
  assert.equal(bare.stderr, help.stdout);
  for (const p of PROGRAMS) assert.match(help.stdout, new RegExp(`^  ${p} +\\S`, "m"));
  assert.match(version.stdout, /^nsq v1\.3\.0-ts\S+ \(built w\/\S+\)\n$/);
  assert.equal(unknown.code, 2, describeExit(unknown));
  assert.ok(
    unknown.stderr.startsWith('nsq: unknown program "nsq_bogus"\n\nUsage: nsq <program>'),
    unknown.stderr,
  );
  PROGRAMS.filter((p) => p !== "to_nsq").forEach((p, i) => {
    assert.equal(versions[i].code, 0, describeExit(versions[i]));
    assert.match(versions[i].stdout, new RegExp(`^${p} v1\\.3\\.0-ts`));
  });
});

runtimeTest("a daemon whose port is taken prints one FATAL line and exits 1", async (rt) => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  try {
    const dataPath = await Deno.makeTempDir();
    const [nsqd, lookupd] = await Promise.all([
      runTool(rt, "nsqd", [
        `--tcp-address=127.0.0.1:${port}`,
        "--http-address=127.0.0.1:0",
        `--data-path=${dataPath}`,
      ]),
      runTool(rt, "nsqlookupd", ["--tcp-address=127.0.0.1:0", `--http-address=127.0.0.1:${port}`]),
    ]);
    for (const [name, e] of [["nsqd", nsqd], ["nsqlookupd", lookupd]] as const) {
      assert.equal(e.code, 1, describeExit(e));
      assert.match(
        e.stderr,
        new RegExp(`^\\[${name}\\] [\\d/]+ [\\d:.]+ FATAL: failed to instantiate ${name} - .*${port}`, "m"),
      );
      assert.doesNotMatch(e.stderr, /^\s+at /m, "no stack trace");
    }
    await Deno.remove(dataPath, { recursive: true });
  } finally {
    server.close();
  }
});

if (RUNTIMES.includes("bin")) {
  Deno.test("dist/ holds one binary and a link to it per program; a link's name picks the program", async () => {
    for (const p of PROGRAMS) {
      const st = await Deno.lstat(`${ROOT}dist/${p}`);
      assert.ok(st.isSymlink, `dist/${p} is a link`);
      assert.equal(await Deno.readLink(`${ROOT}dist/${p}`), "nsq");
    }
    // Any link name works, wherever the link is.
    const dir = await Deno.makeTempDir();
    await Deno.symlink(`${ROOT}dist/nsq`, `${dir}/nsq_stat`);
    const out = await new Deno.Command(`${dir}/nsq_stat`, { args: ["--version"] }).output();
    assert.equal(out.code, 0);
    assert.match(new TextDecoder().decode(out.stdout), /^nsq_stat v1\.3\.0/);
    await Deno.remove(dir, { recursive: true });
  });
}
