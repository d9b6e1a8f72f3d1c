import assert from "node:assert/strict";
import { RELEASE_VERSION } from "../../mod.ts";
import { bunBin, RUNTIMES } from "./harness.ts";

// The package as a user gets it: `npm pack` (which builds lib/ first, see build_npm.sh), then fresh
// projects outside this repository — a package.json and nothing else — install the tarball (npm for
// the Deno project, `bun add` for the Bun one) and run a script that imports `nsq-ts` by name
// (tests/package/*_app.ts). Everything lives in a temporary directory, with its own npm and Bun caches.

const ROOT = new URL("../../", import.meta.url).pathname;
const TARGETS = RUNTIMES.filter((r) => r !== "bin"); // the binaries have no package to test

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): Promise<Run> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** A project directory holding only a package.json (as `npm init -y` would write it, minus scripts). */
async function freshProject(dir: string, name: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.mkdir(path);
  await Deno.writeTextFile(`${path}/package.json`, JSON.stringify({ name, version: "1.0.0", private: true }));
  return path;
}

/** Bare specifiers (npm packages) that the compiled modules import. */
async function bareImports(libDir: string): Promise<Set<string>> {
  const names = new Set<string>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".js")) {
        const src = await Deno.readTextFile(path);
        for (const m of src.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)"([^".][^"]*)"/g)) {
          if (m[1].startsWith("node:") || m[1].startsWith("bun:")) continue;
          const parts = m[1].split("/");
          names.add(m[1].startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]);
        }
      }
    }
  };
  await walk(libDir);
  return names;
}

const EXPECTED_OUTPUT = { ok: true, release: RELEASE_VERSION, consumed: JSON.stringify({ id: 1 }) };

Deno.test({
  name: "the packed npm package installs in a fresh project outside the repository and embeds the broker",
  ignore: TARGETS.length === 0,
  fn: async (t) => {
    const tmp = await Deno.makeTempDir({ prefix: "nsq-package-" });
    try {
      let tarball = "";
      await t.step(
        "npm pack ships compiled modules and .d.ts only: no sources, tests, fixtures or node_modules",
        async () => {
          const r = ok(
            await run("npm", ["pack", "--json", "--pack-destination", tmp, "--cache", `${tmp}/npm-cache`], {
              cwd: ROOT,
            }),
            "npm pack",
          );
          const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
          tarball = `${tmp}/${info.filename}`;
          const files = info.files.map((f) => f.path).sort();
          for (const f of files) {
            assert.match(
              f,
              /^(package\.json|README\.md|LICENSE|lib\/.+\.(js|d\.ts))$/,
              `unexpected file ${f}`,
            );
            assert.doesNotMatch(
              f,
              /(^|\/)(tests?|fixtures|bench|node_modules|cli)\//,
              `unexpected file ${f}`,
            );
          }
          for (const f of ["package.json", "lib/mod.js", "lib/mod.d.ts", "lib/src/platform/deno.js"]) {
            assert.ok(files.includes(f), `${f} missing from the tarball`);
          }
        },
      );

      await t.step("every npm package the compiled modules import is a declared dependency", async () => {
        const dir = `${tmp}/unpacked`;
        await Deno.mkdir(dir);
        ok(await run("tar", ["-xzf", tarball, "-C", dir], { cwd: tmp }), "tar");
        const pkg = JSON.parse(await Deno.readTextFile(`${dir}/package/package.json`));
        const declared = Object.keys(pkg.dependencies ?? {});
        for (const name of await bareImports(`${dir}/package/lib`)) {
          assert.ok(declared.includes(name), `lib/ imports ${name}, which package.json does not declare`);
        }
        assert.equal(pkg.private, undefined);
        assert.deepEqual(pkg.exports["."], { types: "./lib/mod.d.ts", default: "./lib/mod.js" });
      });

      if (TARGETS.includes("deno")) {
        await t.step(
          "[deno] a project with only a package.json: npm install <tarball>, deno check and run",
          async () => {
            const project = await freshProject(tmp, "deno-project");
            ok(
              await run(
                "npm",
                ["install", tarball, "--no-audit", "--no-fund", "--cache", `${tmp}/npm-cache`],
                {
                  cwd: project,
                },
              ),
              "npm install",
            );
            await Deno.copyFile(`${ROOT}tests/package/deno_app.ts`, `${project}/main.ts`);
            const env = { DENO_DIR: `${tmp}/deno-dir` };
            ok(await run(Deno.execPath(), ["check", "main.ts"], { cwd: project, env }), "deno check main.ts");
            const r = ok(
              await run(Deno.execPath(), ["run", "-A", "main.ts"], { cwd: project, env }),
              "deno run",
            );
            assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)!), EXPECTED_OUTPUT);
          },
        );
      }

      if (TARGETS.includes("bun")) {
        await t.step(
          "[bun] a project with only a package.json: bun add <tarball>, run without auto-install",
          async () => {
            const project = await freshProject(tmp, "bun-project");
            const env = { BUN_INSTALL_CACHE_DIR: `${tmp}/bun-cache` };
            ok(await run(bunBin(), ["add", tarball], { cwd: project, env }), "bun add");
            await Deno.copyFile(`${ROOT}tests/package/bun_app.ts`, `${project}/main.ts`);
            // --no-install: the declared dependencies must be enough (no auto-install behind the user's back).
            const r = ok(
              await run(bunBin(), ["--no-install", "main.ts"], { cwd: project, env }),
              "bun main.ts",
            );
            assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)!), EXPECTED_OUTPUT);
          },
        );
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
