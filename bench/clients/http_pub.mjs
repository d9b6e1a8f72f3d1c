// HTTP publisher for bench/http_pub.ts:
// node bench/clients/http_pub.mjs <url> <pub|mpub> <connections> <seconds> [http|raw] [batch=100] [size=100]
// Each connection keeps one request outstanding (POST /pub of one body, or POST /mpub of `batch`
// newline-separated bodies) for `seconds`; prints one JSON line: requests, messages, seconds, errors,
// and this process's CPU seconds (so the driver can tell whether the generator is the bottleneck).
// `http`: Node's http module with a keep-alive agent. `raw`: the same requests, prebuilt, written on
// keep-alive sockets, responses framed by their Content-Length (no pipelining) — a fraction of the CPU.
import http from "node:http";
import net from "node:net";

const [url, mode, connsArg, secondsArg, client = "http", batchArg = "100", sizeArg = "100"] = process.argv
  .slice(2);
const conns = Number(connsArg);
const seconds = Number(secondsArg);
const batch = mode === "mpub" ? Number(batchArg) : 1;
const size = Number(sizeArg);
const one = Buffer.alloc(size, "m");
const body = mode === "mpub"
  ? Buffer.from(Array.from({ length: batch }, () => one.toString()).join("\n"))
  : one;
const target = new URL(`${url}/${mode}?topic=http_bench`);
const agent = new http.Agent({ keepAlive: true, maxSockets: conns });

let requests = 0;
let errors = 0;
let stop = false;
const cpu0 = process.cpuUsage();

function post() {
  return new Promise((resolve) => {
    const req = http.request(target, {
      method: "POST",
      agent,
      headers: { "content-length": body.length },
    }, (res) => {
      res.resume();
      res.on("end", () => {
        if (res.statusCode === 200) requests++;
        else errors++;
        resolve();
      });
    });
    req.on("error", () => {
      errors++;
      resolve();
    });
    req.end(body);
  });
}

async function loop() {
  while (!stop) await post();
}

/** One raw keep-alive connection: writes the request, waits for its whole response, again. */
function rawConnection(warm) {
  const request = Buffer.concat([
    Buffer.from(
      `POST ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
        `Content-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`,
    ),
    body,
  ]);
  return new Promise((resolve) => {
    const socket = net.connect(Number(target.port), target.hostname);
    socket.setNoDelay(true);
    let buf = "";
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk) => {
      buf += chunk.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const m = /content-length: *(\d+)/i.exec(buf.slice(0, end));
        const size = end + 4 + (m ? Number(m[1]) : 0);
        if (buf.length < size) return;
        if (buf.startsWith("HTTP/1.1 200")) requests++;
        else errors++;
        buf = buf.slice(size);
        if (stop || warm) {
          socket.end();
          resolve();
          return;
        }
        socket.write(request);
      }
    });
    socket.on("error", () => {
      errors++;
      resolve();
    });
  });
}

const run = client === "raw" ? () => rawConnection(false) : loop;
// Warm-up: one request answered per connection before the clock starts.
await Promise.all(Array.from({ length: conns }, client === "raw" ? () => rawConnection(true) : post));
requests = 0;
const started = process.hrtime.bigint();
setTimeout(() => (stop = true), seconds * 1000);
await Promise.all(Array.from({ length: conns }, run));
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({
  requests,
  messages: requests * batch,
  seconds: elapsed,
  errors,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
}));
agent.destroy();
