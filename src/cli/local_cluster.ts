/**
 * `npm start`: a local NSQ cluster for a newcomer — an nsqlookupd, an nsqd registered with it (through the
 * embedding API of `mod.ts`) and nsqadmin on them, in one process, with data under `./nsq-data`. Prints the
 * addresses and commands to paste. Ctrl-C stops them cleanly (queued messages stay in ./nsq-data).
 *
 *   deno run -A src/cli/local_cluster.ts [--data-path=./nsq-data]
 *   bun src/cli/local_cluster.ts
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { startNsqd, startNsqlookupd } from "../../mod.ts";
import { Logger, LogLevel } from "../internal/logger.ts";
import { Nsqadmin } from "../nsqadmin/nsqadmin.ts";
import { defaultNsqadminOptions } from "../nsqadmin/options.ts";
import { currentPlatform } from "../platform/mod.ts";

const platform = await currentPlatform();
const dataArg = platform.args.find((a) => /^--?data-path=/.test(a));
const dataPath = resolve(dataArg ? dataArg.slice(dataArg.indexOf("=") + 1) : "nsq-data");
mkdirSync(dataPath, { recursive: true });

// A port in use (or any other startup failure) is one FATAL line and exit 1, as the daemons do.
const fatal = (err: unknown): never => {
  new Logger((l) => platform.writeStderr(l), "[nsq] ", LogLevel.info).fatal(
    `failed to start the local cluster - ${(err as Error).message}`,
  );
  return platform.exit(1);
};
const lookupd = await startNsqlookupd({ broadcastAddress: "127.0.0.1", logLevel: "warn" }).catch(fatal);
const nsqd = await startNsqd({
  dataPath,
  broadcastAddress: "127.0.0.1",
  lookupdTcpAddresses: [`127.0.0.1:${lookupd.tcpAddr!.port}`],
  logLevel: "warn",
}).catch(async (err) => {
  await lookupd.close();
  return fatal(err);
});
const admin = new Nsqadmin(platform, {
  ...defaultNsqadminOptions(),
  httpAddress: "127.0.0.1:4171",
  nsqlookupdHttpAddresses: [`127.0.0.1:${lookupd.httpAddr!.port}`],
  logLevel: LogLevel.warn,
});
await admin.start().catch(async (err) => {
  await nsqd.close();
  await lookupd.close();
  return fatal(err);
});

const http = `http://127.0.0.1:${nsqd.httpAddr!.port}`;
const lookupHttp = `http://127.0.0.1:${lookupd.httpAddr!.port}`;
console.log(`NSQ local cluster (${platform.name} ${platform.version})
  nsqlookupd  TCP 127.0.0.1:${lookupd.tcpAddr!.port}   HTTP ${lookupHttp}
  nsqd        TCP 127.0.0.1:${nsqd.tcpAddr!.port}   HTTP ${http}   data ${dataPath}
  nsqadmin    http://127.0.0.1:${admin.httpAddr!.port}   (the web UI)

Publish:   curl -d 'hello world' '${http}/pub?topic=test'
Consume:   node_modules/.bin/deno run -A examples/tail.ts --lookupd-http-address=127.0.0.1:${
  lookupd.httpAddr!.port
} --topic=test
           (or any NSQ client: nsq_tail --lookupd-http-address=127.0.0.1:${
  lookupd.httpAddr!.port
} --topic=test)
Stats:     curl '${http}/stats'      Prometheus: curl '${http}/metrics'
Discover:  curl '${lookupHttp}/lookup?topic=test'

Ctrl-C stops them; queued messages are kept in ${dataPath}.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await admin.close();
  await nsqd.close();
  await lookupd.close();
  platform.exit(0);
};
platform.onSignal("SIGINT", stop);
platform.onSignal("SIGTERM", stop);
