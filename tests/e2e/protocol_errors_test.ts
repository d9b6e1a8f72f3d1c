/**
 * Black-box tests of the V2 TCP protocol's error paths and state machine (shared/nsq-reference.md
 * §1.1–1.10): every error frame's exact text, which errors close the connection (fatal) and which
 * leave it open (E_FIN_FAILED, E_REQ_FAILED, E_TOUCH_FAILED), and at which point of the byte stream
 * each error is reported.
 */
import assert from "node:assert/strict";
import {
  concat,
  encodeCommand,
  FRAME_ERROR,
  FRAME_RESPONSE,
  int32,
  type NsqConn,
  type NsqdProcess,
  runtimeTest,
  withNsqd,
} from "./harness.ts";

const encoder = new TextEncoder();

/** A well-formed message ID that no nsqd has handed out. */
const UNKNOWN_ID = "0123456789abcdef";

// ---- local helpers ------------------------------------------------------------------------------

/** Reads a fatal error frame with exactly `text`, then asserts the server closed with nothing after it. */
async function expectFatal(c: NsqConn, text: string): Promise<void> {
  await c.expectError(text);
  await c.expectClosed();
  assert.equal(c.buffered, 0, "nothing may follow a fatal error frame");
}

/** Asserts the server closed the connection without sending a single byte. */
async function expectClosedSilently(c: NsqConn): Promise<void> {
  await c.expectClosed();
  assert.equal(c.buffered, 0, "the connection must be closed without an error frame");
}

/** Proves the connection is still usable: NOP (no reply) then PUB must get `OK`. */
async function expectStillOpen(c: NsqConn): Promise<void> {
  await c.command("NOP");
  await c.pub("still-open", "x");
}

/** The exact bytes of a server frame. */
function frameBytes(type: number, text: string): Uint8Array {
  const data = encoder.encode(text);
  return concat(int32(4 + data.length), int32(type), data);
}

/** Connects with the V2 magic and subscribes to `t`/`ch` (or the given names). */
async function subscribed(nsqd: NsqdProcess, topic = "t", channel = "ch"): Promise<NsqConn> {
  const c = await nsqd.connectV2();
  await c.sub(topic, channel);
  return c;
}

/** Connects with the V2 magic, sends `bytes` in one write and returns the connection. */
async function sendRaw(nsqd: NsqdProcess, ...parts: (string | Uint8Array)[]): Promise<NsqConn> {
  const c = await nsqd.connectV2();
  await c.write(concat(...parts));
  return c;
}

/** Sends an IDENTIFY with a raw JSON text body and returns the reply frame. */
async function identifyRaw(c: NsqConn, json: string) {
  await c.command("IDENTIFY", json);
  return await c.readNonHeartbeat();
}

/** Expects a JSON response frame with exactly `text` (key order included). */
async function expectJsonResponse(c: NsqConn, text: string): Promise<void> {
  const f = await c.readNonHeartbeat();
  assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, text]);
}

// ---- §1.1 magic ---------------------------------------------------------------------------------

for (const magic of ["  V1", "  v2", "V2  ", "GET "]) {
  runtimeTest(
    `a bad magic ${JSON.stringify(magic)} gets a framed E_BAD_PROTOCOL and is closed`,
    async (rt) => {
      await withNsqd(rt, [], async (nsqd) => {
        const c = await nsqd.connect();
        await c.write(magic);
        const bytes = await c.readExactly(4 + 4 + "E_BAD_PROTOCOL".length);
        assert.deepEqual(bytes, frameBytes(FRAME_ERROR, "E_BAD_PROTOCOL"));
        await expectClosedSilently(c);
      });
    },
  );
}

// ---- §1.2 command framing -----------------------------------------------------------------------

runtimeTest("an unknown command is fatal E_INVALID invalid command FOO", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "FOO bar\n");
    await expectFatal(c, "E_INVALID invalid command FOO");
  });
});

runtimeTest("a lower-case pub is an invalid command", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "pub t\n");
    await expectFatal(c, "E_INVALID invalid command pub");
  });
});

runtimeTest("an empty line is invalid command with a trailing space, byte for byte", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "\n");
    const text = "E_INVALID invalid command ";
    const bytes = await c.readExactly(8 + text.length);
    assert.deepEqual(bytes, frameBytes(FRAME_ERROR, text));
    await expectClosedSilently(c);
  });
});

runtimeTest("a bare CRLF line is an empty command", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "\r\n");
    await expectFatal(c, "E_INVALID invalid command ");
  });
});

runtimeTest("a line starting with a space has an empty command name", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, " PUB t\n");
    await expectFatal(c, "E_INVALID invalid command ");
  });
});

runtimeTest("a CRLF-terminated command line is accepted", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "PUB t\r\n", int32(5), "hello");
    await c.expectResponse("OK");
    await c.write("NOP\r\n");
    await expectStillOpen(c);
  });
});

runtimeTest("a double space makes an empty parameter (SUB t  ch has an empty channel)", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "SUB t  ch\n");
    await expectFatal(c, 'E_BAD_CHANNEL SUB channel name "" is not valid');
  });
});

runtimeTest("a command line longer than 16 KiB closes the connection with no error frame", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    await c.write(`PUB ${"a".repeat(20_000)}\n`).catch(() => {});
    await expectClosedSilently(c);
  });
});

runtimeTest("a command line of 16385 bytes including the newline is too long", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    const line = `NOP ${"a".repeat(16384 - 4)}\n`;
    assert.equal(line.length, 16385);
    await c.write(line).catch(() => {});
    await expectClosedSilently(c);
  });
});

runtimeTest("a command line of exactly 16384 bytes including the newline still fits", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    const line = `NOP ${"a".repeat(16383 - 4)}\n`;
    assert.equal(line.length, 16384);
    await c.write(line);
    await expectStillOpen(c);
  });
});

runtimeTest("a half-close in the middle of a command line closes without an error frame", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "PUB t");
    await c.closeWrite();
    await expectClosedSilently(c);
  });
});

// ---- pipelining ---------------------------------------------------------------------------------

runtimeTest("earlier commands in the same write are answered before a fatal error", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, encodeCommand("PUB t", "one"), "BAD\n", encodeCommand("PUB t", "two"));
    await c.expectResponse("OK");
    await expectFatal(c, "E_INVALID invalid command BAD");
  });
});

runtimeTest(
  "a non-fatal error in the middle of a pipelined write is followed by the later replies",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await subscribed(nsqd);
      await c.write(
        concat(encodeCommand("PUB t", "a"), `FIN ${UNKNOWN_ID}\n`, "NOP\n", encodeCommand("PUB t", "b")),
      );
      await c.expectResponse("OK");
      await c.expectError(`E_FIN_FAILED FIN ${UNKNOWN_ID} failed ID not in flight`);
      await c.expectResponse("OK");
    });
  },
);

// ---- §1.6 state machine -------------------------------------------------------------------------

runtimeTest("IDENTIFY may be sent twice before SUB", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    for (let i = 0; i < 2; i++) {
      const f = await c.identify({ client_id: `c${i}` });
      assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
    }
    await c.sub("t", "ch");
  });
});

runtimeTest("IDENTIFY after SUB is fatal cannot IDENTIFY in current state", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("IDENTIFY", "{}");
    await expectFatal(c, "E_INVALID cannot IDENTIFY in current state");
  });
});

runtimeTest("IDENTIFY after CLS is fatal cannot IDENTIFY in current state", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("CLS");
    await c.expectResponse("CLOSE_WAIT");
    await c.command("IDENTIFY", "{}");
    await expectFatal(c, "E_INVALID cannot IDENTIFY in current state");
  });
});

runtimeTest("AUTH after SUB is fatal cannot AUTH in current state", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("AUTH", "secret");
    await expectFatal(c, "E_INVALID cannot AUTH in current state");
  });
});

runtimeTest("a second SUB is fatal cannot SUB in current state", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("SUB t ch2");
    await expectFatal(c, "E_INVALID cannot SUB in current state");
  });
});

runtimeTest("the SUB state check comes before the parameter check", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("SUB");
    await expectFatal(c, "E_INVALID cannot SUB in current state");
  });
});

runtimeTest("SUB after CLS is fatal cannot SUB in current state", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("CLS");
    await c.expectResponse("CLOSE_WAIT");
    await c.command("SUB t ch");
    await expectFatal(c, "E_INVALID cannot SUB in current state");
  });
});

for (
  const [line, cmd] of [
    ["RDY 1", "RDY"],
    ["RDY x", "RDY"],
    [`FIN ${UNKNOWN_ID}`, "FIN"],
    ["FIN", "FIN"],
    [`REQ ${UNKNOWN_ID} 0`, "REQ"],
    [`TOUCH ${UNKNOWN_ID}`, "TOUCH"],
    ["CLS", "CLS"],
  ]
) {
  runtimeTest(`${line} before SUB is fatal cannot ${cmd} in current state`, async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await sendRaw(nsqd, `${line}\n`);
      await expectFatal(c, `E_INVALID cannot ${cmd} in current state`);
    });
  });
}

runtimeTest("RDY before SUB is fatal even after an IDENTIFY", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    const f = await c.identify({});
    assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
    await c.rdy(1);
    await expectFatal(c, "E_INVALID cannot RDY in current state");
  });
});

runtimeTest("CLS answers CLOSE_WAIT and the socket stays open", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("CLS");
    await c.expectResponse("CLOSE_WAIT");
    await expectStillOpen(c);
  });
});

runtimeTest("a second CLS is fatal cannot CLS in current state", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("CLS");
    await c.expectResponse("CLOSE_WAIT");
    await c.command("CLS");
    await expectFatal(c, "E_INVALID cannot CLS in current state");
  });
});

runtimeTest("RDY after CLS is silently ignored, even out of range or unparsable", async (rt) => {
  await withNsqd(rt, ["--max-rdy-count=50"], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("CLS");
    await c.expectResponse("CLOSE_WAIT");
    await c.command("RDY 10");
    await c.command("RDY 51");
    await c.command("RDY x");
    await c.command("RDY -1");
    await expectStillOpen(c);
  });
});

runtimeTest("RDY after CLS does not resume delivery", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("CLS");
    await c.expectResponse("CLOSE_WAIT");
    await c.rdy(5);
    const p = await nsqd.connectV2();
    await p.pub("t", "m");
    await c.expectNothing(300);
  });
});

runtimeTest("FIN, REQ and TOUCH are allowed after CLS and fail non-fatally for unknown IDs", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("CLS");
    await c.expectResponse("CLOSE_WAIT");
    await c.fin(UNKNOWN_ID);
    await c.expectError(`E_FIN_FAILED FIN ${UNKNOWN_ID} failed ID not in flight`);
    await c.req(UNKNOWN_ID, 0);
    await c.expectError(`E_REQ_FAILED REQ ${UNKNOWN_ID} failed ID not in flight`);
    await c.touch(UNKNOWN_ID);
    await c.expectError(`E_TOUCH_FAILED TOUCH ${UNKNOWN_ID} failed ID not in flight`);
    await expectStillOpen(c);
  });
});

runtimeTest("PUB, MPUB, DPUB and NOP are allowed after SUB", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("NOP");
    await c.pub("t2", "a");
    await c.mpub("t2", ["b", "c"]);
    await c.dpub("t2", 1000, "d");
  });
});

runtimeTest("PUB, MPUB, DPUB and NOP are allowed before any IDENTIFY", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    await c.command("NOP");
    await c.pub("t", "a");
    await c.mpub("t", ["b", "c"]);
    await c.dpub("t", 0, "d");
  });
});

runtimeTest(
  "SUB after IDENTIFY with heartbeat_interval -1 is fatal cannot SUB with heartbeats disabled",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await nsqd.connectV2();
      const f = await c.identify({ heartbeat_interval: -1 });
      assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
      await c.command("SUB t ch");
      await expectFatal(c, "E_INVALID cannot SUB with heartbeats disabled");
    });
  },
);

runtimeTest("a connection with heartbeats disabled may still publish", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    const f = await c.identify({ heartbeat_interval: -1 });
    assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
    await c.pub("t", "x");
  });
});

// ---- §1.5 / §1.7 parameter errors ---------------------------------------------------------------

for (
  const [line, text] of [
    ["SUB", "E_INVALID SUB insufficient number of parameters"],
    ["SUB t", "E_INVALID SUB insufficient number of parameters"],
    ["PUB", "E_INVALID PUB insufficient number of parameters"],
    ["MPUB", "E_INVALID MPUB insufficient number of parameters"],
    ["DPUB", "E_INVALID DPUB insufficient number of parameters"],
    ["DPUB t", "E_INVALID DPUB insufficient number of parameters"],
    ["AUTH x", "E_INVALID AUTH invalid number of parameters"],
    ["AUTH x y", "E_INVALID AUTH invalid number of parameters"],
    ["DPUB t x", "E_INVALID DPUB could not parse timeout x"],
    ["DPUB t -1", "E_INVALID DPUB could not parse timeout -1"],
    ["DPUB t +5", "E_INVALID DPUB could not parse timeout +5"],
    ["DPUB t 1.5", "E_INVALID DPUB could not parse timeout 1.5"],
    ["DPUB t 10001", "E_INVALID DPUB timeout 10001 out of range 0-10000"],
  ]
) {
  runtimeTest(`${JSON.stringify(line)} is fatal ${text}`, async (rt) => {
    await withNsqd(rt, ["--max-req-timeout=10s"], async (nsqd) => {
      const c = await sendRaw(nsqd, `${line}\n`);
      await expectFatal(c, text);
    });
  });
}

runtimeTest(
  "DPUB with the default --max-req-timeout rejects 3600001 as out of range 0-3600000",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await sendRaw(nsqd, "DPUB t 3600001\n");
      await expectFatal(c, "E_INVALID DPUB timeout 3600001 out of range 0-3600000");
    });
  },
);

runtimeTest("DPUB accepts a timeout equal to --max-req-timeout", async (rt) => {
  await withNsqd(rt, ["--max-req-timeout=10s"], async (nsqd) => {
    const c = await nsqd.connectV2();
    await c.dpub("t", 10000, "x");
    await c.dpub("t", 0, "y");
  });
});

runtimeTest("DPUB with an empty timeout parses it as 0", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, encodeCommand("DPUB t ", "x"));
    await c.expectResponse("OK");
  });
});

for (
  const [line, text] of [
    ["FIN", "E_INVALID FIN insufficient number of params"],
    ["REQ", "E_INVALID REQ insufficient number of params"],
    [`REQ ${UNKNOWN_ID}`, "E_INVALID REQ insufficient number of params"],
    ["TOUCH", "E_INVALID TOUCH insufficient number of params"],
    ["FIN abc", "E_INVALID invalid message ID"],
    [`FIN ${UNKNOWN_ID}0`, "E_INVALID invalid message ID"],
    ["FIN ", "E_INVALID invalid message ID"],
    ["REQ abc 0", "E_INVALID invalid message ID"],
    ["REQ abc x", "E_INVALID invalid message ID"],
    ["TOUCH 0123456789abcde", "E_INVALID invalid message ID"],
    [`REQ ${UNKNOWN_ID} x`, "E_INVALID REQ could not parse timeout x"],
    [`REQ ${UNKNOWN_ID} -1`, "E_INVALID REQ could not parse timeout -1"],
    ["RDY x", "E_INVALID RDY could not parse count x"],
    ["RDY -1", "E_INVALID RDY could not parse count -1"],
    ["RDY +1", "E_INVALID RDY could not parse count +1"],
    ["RDY 51", "E_INVALID RDY count 51 out of range 0-50"],
    ["RDY 1000", "E_INVALID RDY count 1000 out of range 0-50"],
  ]
) {
  runtimeTest(`${JSON.stringify(line)} after SUB is fatal ${text}`, async (rt) => {
    await withNsqd(rt, ["--max-rdy-count=50"], async (nsqd) => {
      const c = await subscribed(nsqd);
      await c.command(line);
      await expectFatal(c, text);
    });
  });
}

runtimeTest("RDY with the default --max-rdy-count rejects 2501 as out of range 0-2500", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.rdy(2501);
    await expectFatal(c, "E_INVALID RDY count 2501 out of range 0-2500");
  });
});

runtimeTest("RDY 0, RDY 50 and an empty RDY count are accepted with --max-rdy-count=50", async (rt) => {
  await withNsqd(rt, ["--max-rdy-count=50"], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.rdy(0);
    await c.rdy(50);
    await c.command("RDY ");
    await expectStillOpen(c);
  });
});

runtimeTest("RDY without a count means 1", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.command("RDY");
    const p = await nsqd.connectV2();
    await p.mpub("t", ["m1", "m2"]);
    const m = await c.readMessage();
    assert.equal(m.text, "m1");
    await c.expectNothing(300);
  });
});

// ---- §1.5 non-fatal FIN / REQ / TOUCH failures ----------------------------------------------------

runtimeTest("FIN of an unknown ID is non-fatal E_FIN_FAILED … failed ID not in flight", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.fin(UNKNOWN_ID);
    await c.expectError(`E_FIN_FAILED FIN ${UNKNOWN_ID} failed ID not in flight`);
    await expectStillOpen(c);
  });
});

runtimeTest("REQ of an unknown ID is non-fatal E_REQ_FAILED … failed ID not in flight", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.req(UNKNOWN_ID, 100);
    await c.expectError(`E_REQ_FAILED REQ ${UNKNOWN_ID} failed ID not in flight`);
    await expectStillOpen(c);
  });
});

runtimeTest("TOUCH of an unknown ID is non-fatal E_TOUCH_FAILED … failed ID not in flight", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.touch(UNKNOWN_ID);
    await c.expectError(`E_TOUCH_FAILED TOUCH ${UNKNOWN_ID} failed ID not in flight`);
    await expectStillOpen(c);
  });
});

runtimeTest("a second FIN of the same message fails non-fatally with ID not in flight", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await subscribed(nsqd);
    await c.rdy(1);
    const p = await nsqd.connectV2();
    await p.pub("t", "m");
    const m = await c.readMessage();
    await c.fin(m.id);
    await c.fin(m.id);
    await c.expectError(`E_FIN_FAILED FIN ${m.id} failed ID not in flight`);
    await expectStillOpen(c);
  });
});

for (const cmd of ["FIN", "REQ", "TOUCH"] as const) {
  runtimeTest(
    `${cmd} of a message in flight to another client fails with client does not own message`,
    async (rt) => {
      await withNsqd(rt, [], async (nsqd) => {
        const owner = await subscribed(nsqd);
        const other = await subscribed(nsqd);
        await owner.rdy(1);
        const p = await nsqd.connectV2();
        await p.pub("t", "m");
        const m = await owner.readMessage();
        await other.command(cmd === "REQ" ? `REQ ${m.id} 0` : `${cmd} ${m.id}`);
        await other.expectError(`E_${cmd}_FAILED ${cmd} ${m.id} failed client does not own message`);
        await expectStillOpen(other);
        // The owner still holds the message: its FIN succeeds silently, so the next frame is PUB's OK.
        await owner.fin(m.id);
        await owner.pub("elsewhere", "n");
      });
    },
  );
}

// ---- §1.10 names --------------------------------------------------------------------------------

const NAME_64 = "a".repeat(64);
const NAME_65 = "a".repeat(65);
const EPHEMERAL_64 = "e".repeat(54) + "#ephemeral";
const EPHEMERAL_65 = "e".repeat(55) + "#ephemeral";

for (
  const [name, quoted] of [
    [NAME_65, `"${NAME_65}"`],
    ["a*b", '"a*b"'],
    ["a#b", '"a#b"'],
    ["#ephemeral", '"#ephemeral"'],
    ["a#ephemeral#ephemeral", '"a#ephemeral#ephemeral"'],
    ["a#Ephemeral", '"a#Ephemeral"'],
    [EPHEMERAL_65, `"${EPHEMERAL_65}"`],
    ["a/b", '"a/b"'],
    ['a"b', '"a\\"b"'],
    ["a\\b", '"a\\\\b"'],
    ["a\tb", '"a\\tb"'],
    ["a\x01b", '"a\\x01b"'],
    ["a\x7fb", '"a\\x7fb"'],
    ["aéb", '"aéb"'],
    ["a\u00a0b", '"a\\u00a0b"'],
  ]
) {
  const label = name.length > 30 ? `of ${name.length} chars (${name.slice(-10)})` : `quoted as ${quoted}`;
  runtimeTest(`SUB rejects a topic name ${label} with E_BAD_TOPIC`, async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await sendRaw(nsqd, `SUB ${name} ch\n`);
      await expectFatal(c, `E_BAD_TOPIC SUB topic name ${quoted} is not valid`);
    });
  });
}

runtimeTest("SUB quotes an invalid UTF-8 byte in a topic name as \\xff", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "SUB a", new Uint8Array([0xff]), "b ch\n");
    await expectFatal(c, 'E_BAD_TOPIC SUB topic name "a\\xffb" is not valid');
  });
});

runtimeTest('SUB with an empty topic name reports it as ""', async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "SUB  ch\n");
    await expectFatal(c, 'E_BAD_TOPIC SUB topic name "" is not valid');
  });
});

for (
  const [label, name, quoted] of [
    ["of 65 chars", NAME_65, `"${NAME_65}"`],
    ['"c*"', "c*", '"c*"'],
    ['"c\\tx"', "c\tx", '"c\\tx"'],
    ['"#ephemeral"', "#ephemeral", '"#ephemeral"'],
    ["of 65 chars including #ephemeral", EPHEMERAL_65, `"${EPHEMERAL_65}"`],
  ]
) {
  runtimeTest(`SUB rejects a channel name ${label} with E_BAD_CHANNEL`, async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await sendRaw(nsqd, `SUB t ${name}\n`);
      await expectFatal(c, `E_BAD_CHANNEL SUB channel name ${quoted} is not valid`);
    });
  });
}

runtimeTest("SUB checks the topic name before the channel name", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "SUB t* c*\n");
    await expectFatal(c, 'E_BAD_TOPIC SUB topic name "t*" is not valid');
  });
});

runtimeTest(
  "SUB accepts 64-char names, #ephemeral suffixes and 64 chars including #ephemeral",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      for (
        const [t, ch] of [
          [NAME_64, NAME_64],
          ["t#ephemeral", "ch#ephemeral"],
          [EPHEMERAL_64, EPHEMERAL_64],
          ["a.B-c_9", "x.Y-z_0"],
        ]
      ) {
        const c = await nsqd.connectV2();
        await c.sub(t, ch);
        c.close();
      }
    });
  },
);

runtimeTest("PUB rejects an invalid topic name before reading the body size", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "PUB a*b\n");
    await expectFatal(c, 'E_BAD_TOPIC PUB topic name "a*b" is not valid');
  });
});

runtimeTest("PUB rejects a 65-char topic name", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, `PUB ${NAME_65}\n`);
    await expectFatal(c, `E_BAD_TOPIC PUB topic name "${NAME_65}" is not valid`);
  });
});

runtimeTest("PUB with a trailing space has an empty topic name", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "PUB \n");
    await expectFatal(c, 'E_BAD_TOPIC PUB topic name "" is not valid');
  });
});

runtimeTest("PUB accepts a 64-char topic and a 64-char #ephemeral topic", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    await c.pub(NAME_64, "x");
    await c.pub(EPHEMERAL_64, "x");
  });
});

runtimeTest("MPUB rejects an invalid topic with the code repeated in the text", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "MPUB a*b\n");
    await expectFatal(c, 'E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "a*b" is not valid');
  });
});

runtimeTest("MPUB rejects a 65-char #ephemeral topic with the code repeated in the text", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, `MPUB ${EPHEMERAL_65}\n`);
    await expectFatal(c, `E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "${EPHEMERAL_65}" is not valid`);
  });
});

runtimeTest("DPUB rejects an invalid topic name before parsing the timeout", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "DPUB a*b x\n");
    await expectFatal(c, 'E_BAD_TOPIC DPUB topic name "a*b" is not valid');
  });
});

// ---- body sizes: each error arrives as soon as the size arrives (nothing more is sent) ------------

const SIZE_FLAGS = ["--max-msg-size=100", "--max-body-size=1000"];

for (
  const [title, parts, text] of [
    ["PUB size 0", ["PUB t\n", int32(0)], "E_BAD_MESSAGE PUB invalid message body size 0"],
    ["PUB size -1", ["PUB t\n", int32(-1)], "E_BAD_MESSAGE PUB invalid message body size -1"],
    ["PUB size 101", ["PUB t\n", int32(101)], "E_BAD_MESSAGE PUB message too big 101 > 100"],
    ["DPUB size 0", ["DPUB t 10\n", int32(0)], "E_BAD_MESSAGE DPUB invalid message body size 0"],
    ["DPUB size 101", ["DPUB t 10\n", int32(101)], "E_BAD_MESSAGE DPUB message too big 101 > 100"],
    ["MPUB body size 0", ["MPUB t\n", int32(0)], "E_BAD_BODY MPUB invalid body size 0"],
    ["MPUB body size -5", ["MPUB t\n", int32(-5)], "E_BAD_BODY MPUB invalid body size -5"],
    ["MPUB body size 1001", ["MPUB t\n", int32(1001)], "E_BAD_BODY MPUB body too big 1001 > 1000"],
    ["MPUB count 0", ["MPUB t\n", int32(8), int32(0)], "E_BAD_BODY MPUB invalid message count 0"],
    ["MPUB count -1", ["MPUB t\n", int32(8), int32(-1)], "E_BAD_BODY MPUB invalid message count -1"],
    [
      "MPUB count 200 (> (1000-4)/5)",
      ["MPUB t\n", int32(1000), int32(200)],
      "E_BAD_BODY MPUB invalid message count 200",
    ],
    [
      "MPUB message(0) size 0",
      ["MPUB t\n", int32(100), int32(2), int32(0)],
      "E_BAD_MESSAGE MPUB invalid message(0) body size 0",
    ],
    [
      "MPUB message(1) size 0",
      ["MPUB t\n", int32(100), int32(2), int32(1), "a", int32(0)],
      "E_BAD_MESSAGE MPUB invalid message(1) body size 0",
    ],
    [
      "MPUB message(1) size -1",
      ["MPUB t\n", int32(100), int32(2), int32(1), "a", int32(-1)],
      "E_BAD_MESSAGE MPUB invalid message(1) body size -1",
    ],
    [
      "MPUB message size 101",
      ["MPUB t\n", int32(200), int32(2), int32(101)],
      "E_BAD_MESSAGE MPUB message too big 101 > 100",
    ],
    ["IDENTIFY size 0", ["IDENTIFY\n", int32(0)], "E_BAD_BODY IDENTIFY invalid body size 0"],
    ["IDENTIFY size -1", ["IDENTIFY\n", int32(-1)], "E_BAD_BODY IDENTIFY invalid body size -1"],
    ["IDENTIFY size 1001", ["IDENTIFY\n", int32(1001)], "E_BAD_BODY IDENTIFY body too big 1001 > 1000"],
    ["AUTH size 0", ["AUTH\n", int32(0)], "E_BAD_BODY AUTH invalid body size 0"],
    ["AUTH size 1001", ["AUTH\n", int32(1001)], "E_BAD_BODY AUTH body too big 1001 > 1000"],
  ] as [string, (string | Uint8Array)[], string][]
) {
  runtimeTest(`${title} is reported as ${text} before any body is sent`, async (rt) => {
    await withNsqd(rt, SIZE_FLAGS, async (nsqd) => {
      const c = await sendRaw(nsqd, ...parts);
      await expectFatal(c, text);
    });
  });
}

runtimeTest("PUB and DPUB accept a body of exactly --max-msg-size bytes", async (rt) => {
  await withNsqd(rt, SIZE_FLAGS, async (nsqd) => {
    const c = await nsqd.connectV2();
    await c.pub("t", "x".repeat(100));
    await c.dpub("t", 5, "x".repeat(100));
  });
});

runtimeTest("MPUB accepts a declared body size of exactly --max-body-size", async (rt) => {
  await withNsqd(rt, SIZE_FLAGS, async (nsqd) => {
    const c = await sendRaw(nsqd, "MPUB t\n", int32(1000), int32(1), int32(100), "x".repeat(100));
    await c.expectResponse("OK");
  });
});

runtimeTest("MPUB accepts a message count of exactly (max-body-size-4)/5", async (rt) => {
  await withNsqd(rt, SIZE_FLAGS, async (nsqd) => {
    // 199 passes the count check: the server goes on to read message(0)'s size, which is missing.
    const c = await sendRaw(nsqd, "MPUB t\n", int32(1000), int32(199));
    await c.closeWrite();
    await expectFatal(c, "E_BAD_MESSAGE MPUB failed to read message(0) body size");
  });
});

runtimeTest("MPUB accepts a body whose declared size does not match its content", async (rt) => {
  await withNsqd(rt, SIZE_FLAGS, async (nsqd) => {
    const c = await sendRaw(nsqd, "MPUB t\n", int32(1), int32(2), int32(1), "a", int32(2), "bc");
    await c.expectResponse("OK");
    const s = await subscribed(nsqd, "t", "ch");
    await s.rdy(2);
    assert.equal((await s.readMessage()).text, "a");
    assert.equal((await s.readMessage()).text, "bc");
  });
});

runtimeTest("an MPUB with an invalid second message publishes none of its messages", async (rt) => {
  await withNsqd(rt, SIZE_FLAGS, async (nsqd) => {
    const s = await subscribed(nsqd, "t", "ch");
    await s.rdy(10);
    const bad = await sendRaw(nsqd, "MPUB t\n", int32(100), int32(2), int32(5), "first", int32(0));
    await expectFatal(bad, "E_BAD_MESSAGE MPUB invalid message(1) body size 0");
    const p = await nsqd.connectV2();
    await p.pub("t", "marker");
    assert.equal((await s.readMessage()).text, "marker");
  });
});

runtimeTest("MPUB with the default --max-body-size rejects 5242881", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "MPUB t\n", int32(5242881));
    await expectFatal(c, "E_BAD_BODY MPUB body too big 5242881 > 5242880");
  });
});

runtimeTest("PUB with the default --max-msg-size rejects 1048577", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "PUB t\n", int32(1048577));
    await expectFatal(c, "E_BAD_MESSAGE PUB message too big 1048577 > 1048576");
  });
});

runtimeTest(
  "AUTH with a body and no --auth-http-address is fatal E_AUTH_DISABLED AUTH disabled",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await nsqd.connectV2();
      await c.command("AUTH", "secret");
      await expectFatal(c, "E_AUTH_DISABLED AUTH disabled");
    });
  },
);

// ---- EOF in the middle of a command's size or body (client half-closes) ---------------------------

for (
  const [title, parts, text] of [
    ["PUB with no size", ["PUB t\n"], "E_BAD_MESSAGE PUB failed to read message body size"],
    [
      "PUB with half a size",
      ["PUB t\n", int32(10).subarray(0, 2)],
      "E_BAD_MESSAGE PUB failed to read message body size",
    ],
    [
      "PUB with 3 of 10 body bytes",
      ["PUB t\n", int32(10), "abc"],
      "E_BAD_MESSAGE PUB failed to read message body",
    ],
    ["DPUB with no size", ["DPUB t 0\n"], "E_BAD_MESSAGE DPUB failed to read message body size"],
    [
      "DPUB with 3 of 10 body bytes",
      ["DPUB t 0\n", int32(10), "abc"],
      "E_BAD_MESSAGE DPUB failed to read message body",
    ],
    ["MPUB with no body size", ["MPUB t\n"], "E_BAD_BODY MPUB failed to read body size"],
    ["MPUB with no message count", ["MPUB t\n", int32(100)], "E_BAD_BODY MPUB failed to read message count"],
    [
      "MPUB with half a message count",
      ["MPUB t\n", int32(100), int32(2).subarray(0, 3)],
      "E_BAD_BODY MPUB failed to read message count",
    ],
    [
      "MPUB with no message(0) size",
      ["MPUB t\n", int32(100), int32(2)],
      "E_BAD_MESSAGE MPUB failed to read message(0) body size",
    ],
    [
      "MPUB with no message(1) size",
      ["MPUB t\n", int32(100), int32(2), int32(1), "a"],
      "E_BAD_MESSAGE MPUB failed to read message(1) body size",
    ],
    [
      "MPUB with 3 of 10 message bytes",
      ["MPUB t\n", int32(100), int32(2), int32(10), "abc"],
      "E_BAD_MESSAGE MPUB failed to read message body",
    ],
    ["IDENTIFY with no size", ["IDENTIFY\n"], "E_BAD_BODY IDENTIFY failed to read body size"],
    [
      "IDENTIFY with a short body",
      ["IDENTIFY\n", int32(10), "{}"],
      "E_BAD_BODY IDENTIFY failed to read body",
    ],
    ["AUTH with no size", ["AUTH\n"], "E_BAD_BODY AUTH failed to read body size"],
    ["AUTH with a short body", ["AUTH\n", int32(10), "abc"], "E_BAD_BODY AUTH failed to read body"],
  ] as [string, (string | Uint8Array)[], string][]
) {
  runtimeTest(`${title} then a half-close is fatal ${text}`, async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await sendRaw(nsqd, ...parts);
      await c.closeWrite();
      await expectFatal(c, text);
    });
  });
}

runtimeTest("a PUB body that arrives in several writes is read completely", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await sendRaw(nsqd, "PUB t\n", int32(10).subarray(0, 2));
    await c.write(int32(10).subarray(2));
    await c.write("abc");
    await c.write("defghij");
    await c.expectResponse("OK");
  });
});

// ---- §1.8 IDENTIFY JSON --------------------------------------------------------------------------

for (
  const [title, json] of [
    ["invalid JSON", "{"],
    ["a non-JSON text", "hello"],
    ["trailing garbage after the object", "{} x"],
    ["a float for an int field", '{"heartbeat_interval":1.5}'],
    ["a float literal with a zero fraction for an int field", '{"msg_timeout":1000.0}'],
    ["an exponent for an int field", '{"msg_timeout":1e3}'],
    ["a string for an int field", '{"heartbeat_interval":"1000"}'],
    ["a string for a bool field", '{"feature_negotiation":"true"}'],
    ["a number for a string field", '{"client_id":5}'],
    ["a sample_rate that overflows int32", '{"sample_rate":4294967296}'],
    ["a JSON array instead of an object", "[]"],
  ]
) {
  runtimeTest(
    `IDENTIFY with ${title} is fatal E_BAD_BODY IDENTIFY failed to decode JSON body`,
    async (rt) => {
      await withNsqd(rt, [], async (nsqd) => {
        const c = await nsqd.connectV2();
        await c.command("IDENTIFY", json);
        await expectFatal(c, "E_BAD_BODY IDENTIFY failed to decode JSON body");
      });
    },
  );
}

for (
  const [data, text] of [
    [{ heartbeat_interval: 100 }, "heartbeat interval (100) is invalid"],
    [{ heartbeat_interval: 999 }, "heartbeat interval (999) is invalid"],
    [{ heartbeat_interval: -2 }, "heartbeat interval (-2) is invalid"],
    [{ heartbeat_interval: 60001 }, "heartbeat interval (60001) is invalid"],
    [{ output_buffer_timeout: 24 }, "output buffer timeout (24) is invalid"],
    [{ output_buffer_timeout: 1 }, "output buffer timeout (1) is invalid"],
    [{ output_buffer_timeout: -2 }, "output buffer timeout (-2) is invalid"],
    [{ output_buffer_timeout: 30001 }, "output buffer timeout (30001) is invalid"],
    [{ output_buffer_size: 10 }, "output buffer size (10) is invalid"],
    [{ output_buffer_size: 63 }, "output buffer size (63) is invalid"],
    [{ output_buffer_size: -2 }, "output buffer size (-2) is invalid"],
    [{ output_buffer_size: 65537 }, "output buffer size (65537) is invalid"],
    [{ sample_rate: 100 }, "sample rate (100) is invalid"],
    [{ sample_rate: -1 }, "sample rate (-1) is invalid"],
    [{ msg_timeout: 999 }, "msg timeout (999) is invalid"],
    [{ msg_timeout: -1 }, "msg timeout (-1) is invalid"],
    [{ msg_timeout: 900001 }, "msg timeout (900001) is invalid"],
    // first failure wins, in the order heartbeat, output buffer timeout, size, sample rate, msg timeout
    [
      {
        msg_timeout: 1,
        sample_rate: 100,
        output_buffer_size: 1,
        output_buffer_timeout: 1,
        heartbeat_interval: 1,
      },
      "heartbeat interval (1) is invalid",
    ],
    [
      { msg_timeout: 1, sample_rate: 100, output_buffer_size: 1, output_buffer_timeout: 1 },
      "output buffer timeout (1) is invalid",
    ],
    [{ msg_timeout: 1, sample_rate: 100, output_buffer_size: 1 }, "output buffer size (1) is invalid"],
    [{ msg_timeout: 1, sample_rate: 100 }, "sample rate (100) is invalid"],
  ] as [Record<string, number>, string][]
) {
  runtimeTest(`IDENTIFY ${JSON.stringify(data)} is fatal E_BAD_BODY IDENTIFY ${text}`, async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await nsqd.connectV2();
      await c.command("IDENTIFY", JSON.stringify(data));
      await expectFatal(c, `E_BAD_BODY IDENTIFY ${text}`);
    });
  });
}

runtimeTest("IDENTIFY validates output_buffer_timeout against --min-output-buffer-timeout", async (rt) => {
  await withNsqd(rt, ["--min-output-buffer-timeout=50ms", "--max-output-buffer-timeout=2s"], async (nsqd) => {
    const ok = await nsqd.connectV2();
    for (const v of [50, 2000]) {
      const f = await ok.identify({ output_buffer_timeout: v });
      assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
    }
    const low = await nsqd.connectV2();
    await low.command("IDENTIFY", JSON.stringify({ output_buffer_timeout: 49 }));
    await expectFatal(low, "E_BAD_BODY IDENTIFY output buffer timeout (49) is invalid");
    const high = await nsqd.connectV2();
    await high.command("IDENTIFY", JSON.stringify({ output_buffer_timeout: 2001 }));
    await expectFatal(high, "E_BAD_BODY IDENTIFY output buffer timeout (2001) is invalid");
  });
});

runtimeTest("IDENTIFY accepts every boundary value and the -1 / 0 specials", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    for (
      const data of [
        {
          heartbeat_interval: 1000,
          output_buffer_timeout: 25,
          output_buffer_size: 64,
          sample_rate: 0,
          msg_timeout: 1000,
        },
        {
          heartbeat_interval: 60000,
          output_buffer_timeout: 30000,
          output_buffer_size: 65536,
          sample_rate: 99,
          msg_timeout: 900000,
        },
        {
          heartbeat_interval: 0,
          output_buffer_timeout: 0,
          output_buffer_size: 0,
          sample_rate: 0,
          msg_timeout: 0,
        },
        { output_buffer_timeout: -1, output_buffer_size: -1 },
      ]
    ) {
      const f = await c.identify(data);
      assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"], JSON.stringify(data));
    }
    await c.sub("t", "ch");
  });
});

runtimeTest("IDENTIFY ignores unknown keys and null values", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    const f = await identifyRaw(
      c,
      '{"short_id":"x","long_id":"y","foo":{"bar":[1,2.5,"z"]},"heartbeat_interval":null,"client_id":"me"}',
    );
    assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
    await c.sub("t", "ch");
  });
});

runtimeTest(
  "IDENTIFY without feature_negotiation replies OK even when asking for TLS and compression",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await nsqd.connectV2();
      const f = await c.identify({ feature_negotiation: false, tls_v1: true, deflate: true, snappy: true });
      assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
      // No upgrade happened: a plain PUB still works.
      await c.pub("t", "x");
    });
  },
);

const DEFAULT_NEGOTIATION = '{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,' +
  '"msg_timeout":60000,"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,' +
  '"snappy":false,"sample_rate":0,"auth_required":false,"output_buffer_size":16384,' +
  '"output_buffer_timeout":250,"topology_region":"","topology_zone":""}';

runtimeTest("IDENTIFY with feature_negotiation replies with the §1.8 JSON, keys in order", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    await c.command("IDENTIFY", JSON.stringify({ feature_negotiation: true }));
    const f = await c.readNonHeartbeat();
    assert.equal(f.type, FRAME_RESPONSE);
    assert.deepEqual(Object.keys(JSON.parse(f.text)), Object.keys(JSON.parse(DEFAULT_NEGOTIATION)));
    assert.equal(f.text, DEFAULT_NEGOTIATION);
    // No upgrade OK frames follow: the next frame is PUB's OK.
    await c.pub("t", "x");
  });
});

runtimeTest("IDENTIFY asking for tls_v1 without a server TLS config negotiates tls_v1 false", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    await c.command("IDENTIFY", JSON.stringify({ feature_negotiation: true, tls_v1: true }));
    await expectJsonResponse(c, DEFAULT_NEGOTIATION);
    await c.pub("t", "x");
  });
});

runtimeTest(
  "the negotiated JSON reports the client's effective msg_timeout, buffering and sample rate",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await nsqd.connectV2();
      await c.command(
        "IDENTIFY",
        JSON.stringify({
          feature_negotiation: true,
          msg_timeout: 5000,
          output_buffer_size: 128,
          output_buffer_timeout: 100,
          sample_rate: 42,
          short_id: "ignored",
        }),
      );
      await expectJsonResponse(
        c,
        '{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":5000,' +
          '"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,' +
          '"sample_rate":42,"auth_required":false,"output_buffer_size":128,"output_buffer_timeout":100,' +
          '"topology_region":"","topology_zone":""}',
      );
    });
  },
);

runtimeTest("output_buffer_size -1 negotiates size 1 and timeout 0", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    await c.command("IDENTIFY", JSON.stringify({ feature_negotiation: true, output_buffer_size: -1 }));
    const f = await c.readNonHeartbeat();
    assert.equal(f.type, FRAME_RESPONSE);
    const j = JSON.parse(f.text);
    assert.equal(j.output_buffer_size, 1);
    assert.equal(j.output_buffer_timeout, 0);
  });
});

runtimeTest("output_buffer_timeout -1 negotiates timeout 0 and keeps the default size", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    await c.command("IDENTIFY", JSON.stringify({ feature_negotiation: true, output_buffer_timeout: -1 }));
    const f = await c.readNonHeartbeat();
    assert.equal(f.type, FRAME_RESPONSE);
    const j = JSON.parse(f.text);
    assert.equal(j.output_buffer_size, 16384);
    assert.equal(j.output_buffer_timeout, 0);
  });
});

runtimeTest("the negotiated JSON reflects the server's flags", async (rt) => {
  await withNsqd(rt, [
    "--max-rdy-count=50",
    "--max-msg-timeout=2m",
    "--msg-timeout=30s",
    "--output-buffer-timeout=100ms",
  ], async (nsqd) => {
    const c = await nsqd.connectV2();
    await c.command("IDENTIFY", JSON.stringify({ feature_negotiation: true }));
    await expectJsonResponse(
      c,
      '{"max_rdy_count":50,"version":"1.3.0","max_msg_timeout":120000,"msg_timeout":30000,' +
        '"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,' +
        '"sample_rate":0,"auth_required":false,"output_buffer_size":16384,"output_buffer_timeout":100,' +
        '"topology_region":"","topology_zone":""}',
    );
  });
});

runtimeTest(
  "a rejected IDENTIFY field closes the connection even after a successful IDENTIFY",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await nsqd.connectV2();
      const f = await c.identify({});
      assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
      await c.command("IDENTIFY", JSON.stringify({ sample_rate: 100 }));
      await expectFatal(c, "E_BAD_BODY IDENTIFY sample rate (100) is invalid");
    });
  },
);
