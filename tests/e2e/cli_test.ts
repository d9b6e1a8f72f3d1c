/**
 * nsqd's command line (shared/nsq-reference.md §4, §4.1, §4.4, §3.8, §3.16): Go `flag` syntax and
 * its error answers (exit 2), the startup validation of `nsqd.New` (FATAL, exit 1), the TOML
 * `--config` file with go-options coercions and precedence, and a clean exit 0 on SIGTERM/SIGINT.
 * Values are read back through GET /config/:opt. `--version` is checked in version_test.ts.
 */
import assert from "node:assert/strict";
import { commandFor, type NsqdProcess, type Runtime, runtimeTest, startNsqd } from "./harness.ts";

const decoder = new TextDecoder();

// ---- local helpers ------------------------------------------------------------------------------

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs nsqd with `args` until it exits by itself (it is killed after `timeoutMs`), on loopback
 * ports chosen by the OS and a fresh data path unless `bare`.
 */
async function runToExit(rt: Runtime, args: string[], timeoutMs = 20_000, bare = false): Promise<Exit> {
  const dataPath = await Deno.makeTempDir({ prefix: "nsqd-cli-" });
  const base = bare
    ? []
    : ["--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0", `--data-path=${dataPath}`];
  const cmd = commandFor(rt, "nsqd");
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const out = await new Deno.Command(cmd[0], {
      args: [...cmd.slice(1), ...base, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      timedOut: abort.signal.aborted,
    };
  } finally {
    clearTimeout(timer);
    await Deno.remove(dataPath, { recursive: true }).catch(() => {});
  }
}

function describe(e: Exit): string {
  return `exit ${e.code}${
    e.timedOut ? " (killed: still running)" : ""
  }\nstdout:\n${e.stdout}\nstderr:\n${e.stderr}`;
}

/** Asserts Go flag's failure: exit 2, the message, then `Usage of nsqd:` on stderr. */
function assertFlagError(e: Exit, message: string): void {
  assert.equal(e.code, 2, describe(e));
  assert.ok(e.stderr.includes(message), `stderr lacks ${JSON.stringify(message)}\n${describe(e)}`);
  assert.ok(e.stderr.includes("Usage of nsqd:"), `stderr lacks the usage\n${describe(e)}`);
  assert.ok(
    e.stderr.indexOf(message) < e.stderr.indexOf("Usage of nsqd:"),
    `the message comes before the usage\n${describe(e)}`,
  );
}

/** A `[nsqd] 2006/01/02 15:04:05.000000 FATAL: …` line containing `text` (§3.16). */
function fatalLine(text: string): RegExp {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    `^\\[nsqd\\] \\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{6} FATAL: .*${escaped}`,
    "m",
  );
}

/** Asserts a startup failure: exit 1 with a FATAL log line containing `text`. */
function assertFatal(e: Exit, text: string): void {
  assert.equal(e.code, 1, describe(e));
  assert.match(e.stderr, fatalLine(text), describe(e));
}

/** GET /config/:opt, parsed. */
async function config(nsqd: NsqdProcess, opt: string): Promise<unknown> {
  const res = await nsqd.http(`/config/${opt}`);
  const text = await res.text();
  assert.equal(res.status, 200, `GET /config/${opt}: ${text}`);
  return JSON.parse(text);
}

/** Starts nsqd, checks the options it reports, and stops it. */
async function withStarted(
  rt: Runtime,
  args: string[],
  fn: (nsqd: NsqdProcess) => Promise<void>,
  noDefaultAddresses = false,
): Promise<void> {
  const nsqd = await startNsqd(rt, args, { noDefaultAddresses });
  try {
    await fn(nsqd);
  } finally {
    await nsqd.stop();
  }
}

async function writeConfig(text: string): Promise<string> {
  const file = await Deno.makeTempFile({ prefix: "nsqd-cli-", suffix: ".cfg" });
  await Deno.writeTextFile(file, text);
  return file;
}

async function withConfig(text: string, fn: (file: string) => Promise<void>): Promise<void> {
  const file = await writeConfig(text);
  try {
    await fn(file);
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

// ---- Go flag syntax (§4) -------------------------------------------------------------------------

runtimeTest(
  "flags are accepted with one or two dashes, with = or with the value as the next argument",
  async (rt) => {
    await withStarted(
      rt,
      [
        "-tcp-address=127.0.0.1:0",
        "--http-address",
        "127.0.0.1:0",
        "-msg-timeout=2s",
        "--max-rdy-count",
        "77",
        "-mem-queue-size",
        "9",
        "--max-msg-timeout=90s",
      ],
      async (nsqd) => {
        assert.ok(nsqd.tcpPort > 0 && nsqd.httpPort > 0);
        assert.equal(await config(nsqd, "msg_timeout"), 2_000_000_000);
        assert.equal(await config(nsqd, "max_rdy_count"), 77);
        assert.equal(await config(nsqd, "mem_queue_size"), 9);
        assert.equal(await config(nsqd, "max_msg_timeout"), 90_000_000_000);
      },
      true,
    );
  },
);

runtimeTest("--lookupd-tcp-address can be given twice and both addresses are kept in order", async (rt) => {
  await withStarted(
    rt,
    ["--lookupd-tcp-address=127.0.0.1:1", "--lookupd-tcp-address", "127.0.0.1:2"],
    async (nsqd) => {
      assert.deepEqual(await config(nsqd, "nsqlookupd_tcp_addresses"), ["127.0.0.1:1", "127.0.0.1:2"]);
    },
  );
});

runtimeTest(
  "--e2e-processing-latency-percentile takes comma lists and repeats and keeps them sorted in descending order",
  async (rt) => {
    await withStarted(
      rt,
      ["--e2e-processing-latency-percentile=0.5,0.99", "--e2e-processing-latency-percentile=1.0"],
      async (nsqd) => {
        const res = await nsqd.http("/config/e2e_processing_latency_percentiles");
        assert.deepEqual([res.status, await res.text()], [200, "[1,0.99,0.5]"]);
      },
    );
  },
);

runtimeTest("boolean flags take =false, and alone mean true", async (rt) => {
  await withStarted(rt, ["--statsd-mem-stats=false", "-deflate=false", "--snappy"], async (nsqd) => {
    assert.equal(await config(nsqd, "statsd_mem_stats"), false);
    assert.equal(await config(nsqd, "deflate"), false);
    assert.equal(await config(nsqd, "snappy"), true);
  });
});

runtimeTest("the deprecated --verbose and --worker-id flags are accepted and change nothing", async (rt) => {
  await withStarted(rt, ["--verbose", "--worker-id", "-verbose=true"], async (nsqd) => {
    assert.equal(await config(nsqd, "log_level"), 2);
    const res = await nsqd.http("/ping");
    assert.deepEqual([res.status, await res.text()], [200, "OK"]);
  });
});

// ---- flag errors: exit 2 (Go flag.ExitOnError) ----------------------------------------------------------

runtimeTest(
  "an unknown flag prints 'flag provided but not defined' and the usage, and exits 2",
  async (rt) => {
    assertFlagError(await runToExit(rt, ["--bogus"]), "flag provided but not defined: -bogus");
    assertFlagError(await runToExit(rt, ["-bogus=1"]), "flag provided but not defined: -bogus");
  },
);

runtimeTest("a bad duration prints Go's invalid value message and exits 2", async (rt) => {
  assertFlagError(
    await runToExit(rt, ["--msg-timeout=x"]),
    'invalid value "x" for flag -msg-timeout: parse error',
  );
  assertFlagError(
    await runToExit(rt, ["-msg-timeout", "10"]),
    'invalid value "10" for flag -msg-timeout: parse error',
  );
});

runtimeTest("a bad integer and a missing value are flag errors with exit 2", async (rt) => {
  assertFlagError(
    await runToExit(rt, ["--max-rdy-count=lots"]),
    'invalid value "lots" for flag -max-rdy-count: parse error',
  );
  assertFlagError(await runToExit(rt, ["--msg-timeout"]), "flag needs an argument: -msg-timeout");
});

runtimeTest("a bad boolean value is a flag error with exit 2", async (rt) => {
  assertFlagError(
    await runToExit(rt, ["--statsd-mem-stats=maybe"]),
    'invalid boolean value "maybe" for -statsd-mem-stats: parse error',
  );
});

runtimeTest("--tls-required=maybe is refused with exit 2", async (rt) => {
  const e = await runToExit(rt, ["--tls-required=maybe"]);
  assert.equal(e.code, 2, describe(e));
  assert.match(e.stderr, /"maybe".*-tls-required/, describe(e));
  assert.ok(e.stderr.includes("Usage of nsqd:"), describe(e));
});

runtimeTest("-h prints the usage and exits 0", async (rt) => {
  const e = await runToExit(rt, ["-h"]);
  assert.equal(e.code, 0, describe(e));
  assert.ok(e.stderr.includes("Usage of nsqd:"), describe(e));
  assert.match(e.stderr, /^\s+-msg-timeout/m, describe(e));
});

// ---- startup validation: FATAL, exit 1 (§4.1) ------------------------------------------------------------

runtimeTest("--max-deflate-level outside [1,9] is fatal with exit 1", async (rt) => {
  assertFatal(await runToExit(rt, ["--max-deflate-level=10"]), "--max-deflate-level must be [1,9]");
  assertFatal(await runToExit(rt, ["--max-deflate-level=0"]), "--max-deflate-level must be [1,9]");
});

runtimeTest(
  "--max-deferred-in-memory below 0, or without --persist-deferred, is fatal with exit 1",
  async (rt) => {
    assertFatal(
      await runToExit(rt, ["--persist-deferred", "--max-deferred-in-memory=-1"]),
      "--max-deferred-in-memory must be >= 0",
    );
    assertFatal(
      await runToExit(rt, ["--max-deferred-in-memory=10"]),
      "--max-deferred-in-memory needs --persist-deferred",
    );
  },
);

runtimeTest("--max-msg-age: a negative age is fatal with exit 1, a bad duration a flag error", async (rt) => {
  assertFatal(await runToExit(rt, ["--max-msg-age=-1s"]), "--max-msg-age must be >= 0");
  assertFlagError(
    await runToExit(rt, ["--max-msg-age=soon"]),
    'invalid value "soon" for flag -max-msg-age: parse error',
  );
});

runtimeTest("--node-id outside [0,1024) is fatal with exit 1", async (rt) => {
  assertFatal(await runToExit(rt, ["--node-id=1024"]), "--node-id must be [0,1024)");
  assertFatal(await runToExit(rt, ["--node-id=-1"]), "--node-id must be [0,1024)");
});

runtimeTest("--tls-required=true without a certificate is fatal with exit 1", async (rt) => {
  assertFatal(
    await runToExit(rt, ["--tls-required=true"]),
    "cannot require TLS client connections without TLS key and cert",
  );
  assertFatal(
    await runToExit(rt, ["--tls-required=tcp-https"]),
    "cannot require TLS client connections without TLS key and cert",
  );
});

runtimeTest("an e2e processing latency percentile outside (0,1] is fatal with exit 1", async (rt) => {
  assertFatal(
    await runToExit(rt, ["--e2e-processing-latency-percentile=1.5"]),
    "invalid E2E processing latency percentile",
  );
  assertFatal(
    await runToExit(rt, ["--e2e-processing-latency-percentile=0.5,0"]),
    "invalid E2E processing latency percentile",
  );
});

runtimeTest("a TCP or HTTP port already in use is fatal with exit 1", async (rt) => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  try {
    const tcp = await runToExit(
      rt,
      [`--tcp-address=127.0.0.1:${port}`, "--http-address=127.0.0.1:0"],
      20_000,
      true,
    );
    assertFatal(tcp, "");
    const http = await runToExit(
      rt,
      ["--tcp-address=127.0.0.1:0", `--http-address=127.0.0.1:${port}`],
      20_000,
      true,
    );
    assertFatal(http, "");
  } finally {
    busy.close();
  }
});

// ---- --config TOML (§4.4) ---------------------------------------------------------------------------------

runtimeTest(
  "a --config TOML file sets options with go-options coercions: duration strings, integer milliseconds, string integers, comma lists",
  async (rt) => {
    const toml = [
      "# nsqd config",
      'msg_timeout = "30s"',
      "max_req_timeout = 5000",
      'mem_queue_size = "500"',
      'nsqlookupd_tcp_addresses = "127.0.0.1:1,127.0.0.1:2"',
      'log_level = "debug"',
      "max_rdy_count = 100",
      "statsd_mem_stats = false",
      "not_an_option = 1",
      'another_unknown_key = "ignored"',
      "",
    ].join("\n");
    await withConfig(toml, async (file) => {
      await withStarted(rt, [`--config=${file}`], async (nsqd) => {
        assert.equal(await config(nsqd, "msg_timeout"), 30_000_000_000);
        assert.equal(await config(nsqd, "max_req_timeout"), 5_000_000_000);
        assert.equal(await config(nsqd, "mem_queue_size"), 500);
        assert.deepEqual(await config(nsqd, "nsqlookupd_tcp_addresses"), ["127.0.0.1:1", "127.0.0.1:2"]);
        assert.equal(await config(nsqd, "log_level"), 1);
        assert.equal(await config(nsqd, "max_rdy_count"), 100);
        assert.equal(await config(nsqd, "statsd_mem_stats"), false);
        assert.equal(await config(nsqd, "max_msg_size"), 1_048_576, "default kept");
      });
    });
  },
);

runtimeTest("a --config file may give string lists as TOML arrays", async (rt) => {
  await withConfig('nsqlookupd_tcp_addresses = ["127.0.0.1:1", "127.0.0.1:2"]\nid = 99\n', async (file) => {
    await withStarted(rt, ["-config", file], async (nsqd) => {
      assert.deepEqual(await config(nsqd, "nsqlookupd_tcp_addresses"), ["127.0.0.1:1", "127.0.0.1:2"]);
      assert.equal(await config(nsqd, "id"), 99);
    });
  });
});

runtimeTest(
  "a command-line flag beats the config file, which beats the default, even when the flag repeats the default",
  async (rt) => {
    const toml = 'msg_timeout = "30s"\nmax_rdy_count = 100\nmem_queue_size = 500\nmax_msg_timeout = "20m"\n';
    await withConfig(toml, async (file) => {
      await withStarted(
        rt,
        ["--msg-timeout=5s", `--config=${file}`, "--max-rdy-count=2500"],
        async (nsqd) => {
          assert.equal(await config(nsqd, "msg_timeout"), 5_000_000_000, "flag over file");
          assert.equal(await config(nsqd, "max_rdy_count"), 2500, "a flag equal to the default still wins");
          assert.equal(await config(nsqd, "mem_queue_size"), 500, "file over default");
          assert.equal(await config(nsqd, "max_msg_timeout"), 1_200_000_000_000, "file over default");
          assert.equal(await config(nsqd, "max_body_size"), 5_242_880, "default");
        },
      );
    });
  },
);

runtimeTest("an invalid or missing --config file is fatal with exit 1", async (rt) => {
  await withConfig('msg_timeout = "30s\nthis is = = not toml [\n', async (file) => {
    const e = await runToExit(rt, [`--config=${file}`]);
    assertFatal(e, "");
  });
  const missing = await runToExit(rt, ["--config=/nonexistent/nsqd.cfg"]);
  assertFatal(missing, "");
});

runtimeTest('log_level = "loud" in the config file is fatal: failed parsing log_level', async (rt) => {
  await withConfig('log_level = "loud"\n', async (file) => {
    assertFatal(await runToExit(rt, [`--config=${file}`]), "failed parsing log_level");
  });
});

runtimeTest('tls_required = "maybe" in the config file is fatal: failed parsing tls_required', async (rt) => {
  await withConfig('tls_required = "maybe"\n', async (file) => {
    assertFatal(await runToExit(rt, [`--config=${file}`]), "failed parsing tls_required");
  });
});

// ---- signals (§3.8) -------------------------------------------------------------------------------------

const EXIT_LINE = /INFO: NSQ: (exiting|closing topics|stopping subsystems|bye)/;

for (const sig of ["SIGTERM", "SIGINT"] as const) {
  runtimeTest(`${sig} makes nsqd log its exit and end with code 0`, async (rt) => {
    const nsqd = await startNsqd(rt, []);
    const conn = await nsqd.connectV2();
    await conn.pub("t", "x");
    const code = await nsqd.stop(sig);
    conn.close();
    assert.equal(code, 0, nsqd.proc.stderr);
    await nsqd.proc.waitForLine(EXIT_LINE, 5000);
  });
}
