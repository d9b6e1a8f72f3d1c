import assert from "node:assert/strict";
import { programName } from "../../src/cli/nsq.ts";
import {
  applyConfigFlag,
  clientFlagOptions,
  clientOptFlag,
  consumerSources,
} from "../../src/apps/client_flags.ts";
import { FlagError, parseFlags } from "../../src/cli/flags.ts";

Deno.test("--consumer-opt maps go-nsq keys onto client options (durations in ms, - as _)", () => {
  const o = clientFlagOptions([
    "read_timeout,2s",
    "max-attempts,10",
    "snappy",
    "lookupd_poll_jitter,0.5",
    "backoff_strategy,full_jitter",
    "user_agent,a,b",
  ]);
  assert.deepEqual(o, {
    readTimeout: 2000,
    maxAttempts: 10,
    snappy: true,
    lookupdPollJitter: 0.5,
    backoffStrategy: "full_jitter",
    userAgent: "a,b",
  });
});

Deno.test("--consumer-opt reports go-nsq's errors", () => {
  const err = (t: string) => {
    try {
      applyConfigFlag({}, t);
    } catch (e) {
      return (e as Error).message;
    }
    return "";
  };
  assert.equal(err("nope,1"), "invalid option nope");
  assert.equal(
    err("read_timeout,5"),
    'failed to coerce option read_timeout (5) - time: missing unit in duration "5"',
  );
  assert.equal(err("read_timeout,50ms"), "invalid read_timeout ! 50ms < 100ms");
  assert.equal(err("sample_rate,100"), "invalid sample_rate ! 100 > 99");
  assert.equal(
    err("deflate,maybe"),
    'failed to coerce option deflate (maybe) - strconv.ParseBool: parsing "maybe": invalid syntax',
  );
  assert.equal(err("tls_min_version,tls9"), "ERROR: tls9 is not a tls version");
});

Deno.test("TLS file options are read into tlsConfig as PEM text", () => {
  const o = {};
  applyConfigFlag(o, "tls_root_ca_file,/ca.pem", (p) => `PEM of ${p}`);
  applyConfigFlag(o, "tls_insecure_skip_verify,true");
  assert.deepEqual(o, { tlsConfig: { ca: "PEM of /ca.pem", insecureSkipVerify: true } });
});

Deno.test("a bad --consumer-opt fails flag parsing with Go flag's message", () => {
  assert.throws(
    () => parseFlags([clientOptFlag("consumer-opt")], ["--consumer-opt=max_in_flight,-1"]),
    (e: Error) =>
      e instanceof FlagError &&
      e.message === 'invalid value "max_in_flight,-1" for flag -consumer-opt: invalid max_in_flight ! -1 < 0',
  );
  const ok = parseFlags([clientOptFlag("producer-opt")], [
    "--producer-opt=deflate",
    "-producer-opt",
    "msg_timeout,1s",
  ]);
  assert.deepEqual(ok.values.get("producer-opt"), ["deflate", "msg_timeout,1s"]);
});

Deno.test("consumer apps need exactly one kind of source", () => {
  const v = (n: string[], l: string[]) =>
    new Map<string, unknown>([["nsqd-tcp-address", n], ["lookupd-http-address", l]]);
  assert.throws(
    () => consumerSources(v([], [])),
    /^Error: --nsqd-tcp-address or --lookupd-http-address required$/,
  );
  assert.throws(
    () => consumerSources(v(["a:1"], ["b:2"])),
    /use --nsqd-tcp-address or --lookupd-http-address not both/,
  );
  assert.deepEqual(consumerSources(v(["a:1"], [])), { nsqdTcpAddresses: ["a:1"], lookupdHttpAddresses: [] });
});

Deno.test("programName() is the last path element of argv[0], without .exe", () => {
  assert.equal(programName("/usr/local/bin/nsqd"), "nsqd");
  assert.equal(programName("nsq_tail"), "nsq_tail");
  assert.equal(programName("C:\\nsq\\to_nsq.exe"), "to_nsq");
  assert.equal(programName("/work/node_modules/.bin/deno"), "deno");
});
