/**
 * nsqlookupd's registration DB (shared/nsq-reference.md §5.2, §5.4), after upstream's
 * `nsqlookupd/registration_db_test.go`: keys and producers, `*` wildcards, keys that outlive their
 * producers, producer objects kept on re-registration, and the active/tombstone filter.
 */
import assert from "node:assert/strict";
import {
  Category,
  filterByActive,
  filterRegistrations,
  isMatch,
  type PeerInfo,
  Producer,
  type Registration,
  RegistrationDb,
  registrationKeys,
  registrationName,
  registrationSubKeys,
} from "../../src/nsqlookupd/registration_db.ts";

const SECOND = 1_000_000_000n;
const NOW = 1_700_000_000n * SECOND;

function peer(id: string, lastUpdate = NOW): PeerInfo {
  return {
    id,
    remoteAddress: id,
    hostname: "host",
    broadcastAddress: "nsqd." + id,
    tcpPort: 4150,
    httpPort: 4151,
    version: "1.3.0",
    topologyZone: "",
    topologyRegion: "",
    lastUpdate,
  };
}

const topic = (key: string): Registration => ({ category: Category.Topic, key, subKey: "" });
const channel = (key: string, subKey: string): Registration => ({ category: Category.Channel, key, subKey });
const ids = (ps: Producer[]) => ps.map((p) => p.peerInfo.id);

Deno.test("addProducer() adds a peer once per registration and creates the key", () => {
  const db = new RegistrationDb();
  const p1 = peer("1");
  assert.equal(db.addProducer(topic("a"), new Producer(p1)), true);
  assert.equal(db.addProducer(topic("a"), new Producer(p1)), false);
  assert.deepEqual(ids(db.findProducers("topic", "a", "")), ["1"]);
  assert.deepEqual(db.findRegistrations("topic", "a", ""), [topic("a")]);
});

Deno.test("addProducer() keeps the existing producer object, so its tombstone survives re-REGISTER", () => {
  const db = new RegistrationDb();
  const p1 = peer("1");
  const first = new Producer(p1);
  db.addProducer(topic("a"), first);
  first.tombstone(NOW);
  db.addProducer(topic("a"), new Producer(p1));
  const [stored] = db.findProducers("topic", "a", "");
  assert.equal(stored, first);
  assert.equal(stored.isTombstoned(45_000, NOW + SECOND), true);
});

Deno.test("removeProducer() reports removal and what is left, and leaves the key in place", () => {
  const db = new RegistrationDb();
  db.addProducer(topic("a"), new Producer(peer("1")));
  db.addProducer(topic("a"), new Producer(peer("2")));
  assert.deepEqual(db.removeProducer(topic("a"), "1"), { removed: true, left: 1 });
  assert.deepEqual(db.removeProducer(topic("a"), "1"), { removed: false, left: 1 });
  assert.deepEqual(db.removeProducer(topic("a"), "2"), { removed: true, left: 0 });
  assert.deepEqual(db.findRegistrations("topic", "a", ""), [topic("a")]);
  assert.deepEqual(db.findProducers("topic", "a", ""), []);
  assert.deepEqual(db.removeProducer(topic("missing"), "1"), { removed: false, left: 0 });
});

Deno.test("addRegistration() adds an empty key once; removeRegistration() drops key and producers", () => {
  const db = new RegistrationDb();
  db.addRegistration(topic("a"));
  db.addRegistration(topic("a"));
  assert.deepEqual(db.findRegistrations("topic", "*", ""), [topic("a")]);
  db.addProducer(topic("a"), new Producer(peer("1")));
  db.addRegistration(topic("a")); // does not reset the producers
  assert.deepEqual(ids(db.findProducers("topic", "a", "")), ["1"]);
  db.removeRegistration(topic("a"));
  assert.deepEqual(db.findRegistrations("topic", "*", ""), []);
  assert.deepEqual(db.lookupRegistrations("1"), []);
});

Deno.test("findRegistrations() matches * in key and subKey but never in the category", () => {
  const db = new RegistrationDb();
  db.addRegistration(topic("a"));
  db.addRegistration(topic("b"));
  db.addRegistration(channel("a", "c1"));
  db.addRegistration(channel("a", "c2"));
  db.addRegistration(channel("b", "c1"));
  assert.deepEqual(registrationKeys(db.findRegistrations("topic", "*", "")), ["a", "b"]);
  assert.deepEqual(registrationSubKeys(db.findRegistrations("channel", "a", "*")), ["c1", "c2"]);
  assert.deepEqual(db.findRegistrations("channel", "*", "c1"), [channel("a", "c1"), channel("b", "c1")]);
  assert.equal(db.findRegistrations("channel", "*", "*").length, 3);
  assert.deepEqual(db.findRegistrations("*", "*", "*"), []);
  assert.deepEqual(db.findRegistrations("topic", "a", "*"), [topic("a")]);
  assert.deepEqual(db.findRegistrations("channel", "c", "*"), []);
  assert.deepEqual(db.findRegistrations("topic", "z", ""), []);
});

Deno.test("findProducers() with wildcards returns each peer once (the first met)", () => {
  const db = new RegistrationDb();
  const p1 = peer("1");
  const p2 = peer("2");
  const a1 = new Producer(p1);
  db.addProducer(topic("a"), a1);
  db.addProducer(topic("b"), new Producer(p1));
  db.addProducer(topic("b"), new Producer(p2));
  const all = db.findProducers("topic", "*", "");
  assert.deepEqual(ids(all), ["1", "2"]);
  assert.equal(all[0], a1);
  assert.deepEqual(ids(db.findProducers("topic", "b", "")), ["1", "2"]);
  assert.deepEqual(db.findProducers("channel", "*", "*"), []);
});

Deno.test("lookupRegistrations() lists every key a peer is under; filters pick categories", () => {
  const db = new RegistrationDb();
  const p1 = peer("1");
  db.addProducer({ category: Category.Client, key: "", subKey: "" }, new Producer(p1));
  db.addProducer(channel("a", "c"), new Producer(p1));
  db.addProducer(topic("a"), new Producer(p1));
  db.addProducer(topic("b"), new Producer(p1));
  db.addProducer(topic("c"), new Producer(peer("2")));
  const regs = db.lookupRegistrations("1");
  assert.deepEqual(regs.map(registrationName), ["client::", "channel:a:c", "topic:a:", "topic:b:"]);
  const topics = filterRegistrations(regs, { category: "topic", key: "*", subKey: "" });
  assert.deepEqual(registrationKeys(topics), ["a", "b"]);
  assert.equal(isMatch(channel("a", "c"), { category: "channel", key: "a", subKey: "*" }), true);
  assert.equal(isMatch(channel("a", "c"), { category: "channel", key: "b", subKey: "*" }), false);
  assert.equal(isMatch(topic("a"), { category: "channel", key: "*", subKey: "*" }), false);
});

Deno.test("a producer is inactive only when its last update is strictly older than the timeout", () => {
  const fresh = new Producer(peer("fresh", NOW - 299n * SECOND));
  const edge = new Producer(peer("edge", NOW - 300n * SECOND));
  const stale = new Producer(peer("stale", NOW - 300n * SECOND - 1n));
  const active = filterByActive([fresh, edge, stale], {
    inactiveMs: 300_000,
    tombstoneLifetimeMs: 45_000,
    now: NOW,
  });
  assert.deepEqual(ids(active), ["fresh", "edge"]);
});

Deno.test("a tombstone hides a producer for the lifetime only, and lifetime 0 ignores it", () => {
  const p = new Producer(peer("1"));
  assert.equal(p.isTombstoned(45_000, NOW), false);
  p.tombstone(NOW);
  assert.equal(p.tombstoned, true);
  assert.equal(p.tombstonedAt, NOW);
  const at = (s: bigint) =>
    filterByActive([p], { inactiveMs: 300_000, tombstoneLifetimeMs: 45_000, now: NOW + s });
  assert.deepEqual(at(0n), []);
  assert.deepEqual(at(45n * SECOND - 1n), []);
  // The flag stays set, but stops counting once the lifetime has passed.
  assert.deepEqual(ids(at(45n * SECOND)), ["1"]);
  assert.deepEqual(ids(filterByActive([p], { inactiveMs: 300_000, tombstoneLifetimeMs: 0, now: NOW })), [
    "1",
  ]);
  assert.equal(p.tombstoned, true);
});

Deno.test("entries() yields every key with its producers, empty keys included", () => {
  const db = new RegistrationDb();
  db.addRegistration(topic("empty"));
  db.addProducer(topic("a"), new Producer(peer("1")));
  const seen = [...db.entries()].map(([r, ps]) => [registrationName(r), ids(ps)]);
  assert.deepEqual(seen, [["topic:empty:", []], ["topic:a:", ["1"]]]);
});

Deno.test("a stored key is a copy: mutating the caller's object does not move it", () => {
  const db = new RegistrationDb();
  const r = { category: "topic", key: "a", subKey: "" };
  db.addRegistration(r);
  r.key = "b";
  assert.deepEqual(registrationKeys(db.findRegistrations("topic", "*", "")), ["a"]);
});

Deno.test("Producer.toString() reads like upstream's", () => {
  assert.equal(String(new Producer(peer("1"))), "nsqd.1 [4150, 4151]");
});
