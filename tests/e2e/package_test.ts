import assert from "node:assert/strict";
import { RELEASE_VERSION } from "../../mod.ts";
import { bunBin, RUNTIMES } from "./harness.ts";

// The package as a user gets it: `npm pack` (which builds lib/ first, see build_npm.sh), then fresh
// projects outside this repository install it with the README's commands — `deno add npm:nsq-ts` and
// `bun add nsq-ts`, from a local registry that serves the tarball as `nsq-ts` and sends every other
// package to registry.npmjs.org — and with `npm install <tarball>` into a project that has only a
// package.json, then check and run a script that imports `nsq-ts` by name (tests/package/*_app.ts).
// Everything lives in a temporary directory, with its own npm, Deno and Bun caches.

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

/** An npm registry that knows one package, the packed tarball; other packages are redirected to npmjs. */
async function serveRegistry(tarball: string): Promise<{ url: string; close(): Promise<void> }> {
  const bytes = await Deno.readFile(tarball);
  const digest = async (alg: string) => new Uint8Array(await crypto.subtle.digest(alg, bytes));
  const integrity = `sha512-${btoa(String.fromCharCode(...await digest("SHA-512")))}`;
  const shasum = [...await digest("SHA-1")].map((b) => b.toString(16).padStart(2, "0")).join("");
  const tar = await new Deno.Command("tar", { args: ["-xzOf", tarball, "package/package.json"] }).output();
  const pkg = JSON.parse(new TextDecoder().decode(tar.stdout));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === `/${pkg.name}`) {
      const dist = { tarball: `${url.origin}/${pkg.name}.tgz`, integrity, shasum };
      const versions = { [pkg.version]: { ...pkg, dist } };
      return Response.json({ name: pkg.name, "dist-tags": { latest: pkg.version }, versions });
    }
    if (url.pathname === `/${pkg.name}.tgz`) return new Response(bytes);
    return Response.redirect(`https://registry.npmjs.org${url.pathname}${url.search}`, 302);
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, close: () => server.shutdown() };
}

const EXPECTED_OUTPUT = { ok: true, release: RELEASE_VERSION, consumed: JSON.stringify({ id: 1 }) };

/**
 * Copies tests/package/<runtime>_app.ts into the project as main.ts, type-checks it against the installed
 * package's .d.ts (Deno), runs it and checks its JSON line.
 */
async function runApp(runtime: "deno" | "bun", project: string, env: Record<string, string>): Promise<void> {
  await Deno.copyFile(`${ROOT}tests/package/${runtime}_app.ts`, `${project}/main.ts`);
  if (runtime === "deno") {
    ok(await run(Deno.execPath(), ["check", "main.ts"], { cwd: project, env }), "deno check main.ts");
  }
  const [cmd, ...args] = runtime === "deno"
    ? [Deno.execPath(), "run", "-A", "main.ts"]
    // --no-install: the declared dependencies must be enough (no auto-install behind the user's back).
    : [bunBin(), "--no-install", "main.ts"];
  const r = ok(await run(cmd, args, { cwd: project, env }), `${runtime} main.ts`);
  assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)!), EXPECTED_OUTPUT);
}

Deno.test({
  name: "the packed npm package installs in fresh projects outside the repository and embeds the broker",
  ignore: TARGETS.length === 0,
  fn: async (t) => {
    const tmp = await Deno.makeTempDir({ prefix: "nsq-package-" });
    const npmCache = `${tmp}/npm-cache`;
    try {
      let tarball = "";
      await t.step(
        "npm pack ships compiled modules and .d.ts only: no sources, tests, fixtures or node_modules",
        async () => {
          const r = ok(
            await run("npm", ["pack", "--json", "--pack-destination", tmp, "--cache", npmCache], {
              cwd: ROOT,
            }),
            "npm pack",
          );
          const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
          tarball = `${tmp}/${info.filename}`;
          const files = info.files.map((f) => f.path);
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
          for (
            const f of ["package.json", "LICENSE", "lib/mod.js", "lib/mod.d.ts", "lib/src/platform/deno.js"]
          ) {
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

      const registry = await serveRegistry(tarball);
      try {
        if (TARGETS.includes("deno")) {
          await t.step("[deno] `deno add npm:nsq-ts` in an empty directory; deno check, run", async () => {
            const project = `${tmp}/deno-add-project`;
            await Deno.mkdir(project);
            const env = { NPM_CONFIG_REGISTRY: registry.url, DENO_DIR: `${tmp}/deno-dir-add` };
            ok(
              await run(Deno.execPath(), ["add", "npm:nsq-ts"], { cwd: project, env }),
              "deno add npm:nsq-ts",
            );
            await runApp("deno", project, env);
          });
        }
        if (TARGETS.includes("bun")) {
          await t.step(
            "[bun] `bun add nsq-ts` in a project with only a package.json; bun main.ts",
            async () => {
              const project = await freshProject(tmp, "bun-project");
              const env = { NPM_CONFIG_REGISTRY: registry.url, BUN_INSTALL_CACHE_DIR: `${tmp}/bun-cache` };
              ok(await run(bunBin(), ["add", "nsq-ts"], { cwd: project, env }), "bun add nsq-ts");
              await runApp("bun", project, env);
            },
          );
        }
      } finally {
        await registry.close();
      }

      if (TARGETS.includes("deno")) {
        await t.step(
          "[deno] `npm install <tarball>` in a project with only a package.json; deno check, run",
          async () => {
            const project = await freshProject(tmp, "deno-npm-project");
            const args = ["install", tarball, "--no-audit", "--no-fund", "--cache", npmCache];
            ok(await run("npm", args, { cwd: project }), "npm install");
            const env = { DENO_DIR: `${tmp}/deno-dir-npm` };
            await runApp("deno", project, env);
          },
        );
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
