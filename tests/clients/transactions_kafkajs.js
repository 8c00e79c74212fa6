// Chapter 9 with kafkajs (2.2.4): its own transactional producer
// (producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 }).transaction())
// against spool's transaction coordinator, and its own consumers (readUncommitted false
// and true) reading what it wrote. Run by tests/it/transactions_clients.rs, which starts the
// broker.
//
//   producer kj-tx:  connect()                                InitProducerId v1 (no transactional id:
//                                                             kafkajs's idempotent producer id)
//                    transaction(): 10 records to p0 and p1   InitProducerId v1 (transactional id), the
//                                                             first time only; AddPartitionsToTxn v1,
//                                                             Produce, EndTxn v1(commit)
//                    transaction(): 4 records, abort()        EndTxn(abort)
//   read_committed consumer (readUncommitted: false): exactly the 10 committed records
//   read_uncommitted consumer (readUncommitted: true): all 14
//   consume-transform-produce: a group member reads `in`, the producer writes `out` and
//                    sendOffsets({ consumerGroupId, topics })  AddOffsetsToTxn, TxnOffsetCommit v1
//                    (the group id only: kafkajs has no KIP-447 generation or member id);
//                    the group's committed offset is unchanged until the commit, then is the
//                    end of `in`; a second such transaction, aborted, leaves it there
//   producer kj-tx again: its first transaction() fences the first (connect() does not: it
//                    asks for an idempotent producer id only); the first's next transaction fails
//                    with INVALID_PRODUCER_EPOCH — kafkajs speaks only v0/v1 of the transaction
//                    APIs, from before PRODUCER_FENCED (KIP-588), so the broker answers with the
//                    older code, as Kafka does, and kafkajs does not retry it
//
// kafkajs's consumer only exists as a group member, so each reader is a consumer of its own
// group, and it has read everything when the batches it processed reach every partition's
// end (ListOffsets): a batch's lastOffset counts the aborted records and control batches
// kafkajs filtered out, so this also checks that it stepped over them. (Not the group's
// committed offsets: kafkajs resolves a batch that filtering emptied but does not commit it
// until later, with autoCommit's defaults.)
// Exits non-zero with one `FAIL:` line; prints `PASS ...` otherwise.
//
//   node transactions_kafkajs.js --bootstrap HOST:PORT
"use strict";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const { Kafka, logLevel } = require("kafkajs");

const PARTITIONS = 2;
const [TXN, IN, OUT] = ["txn", "in", "out"];
const GROUP = "kj-ctp";
const INPUTS = 6;
const DEADLINE_MS = Number(process.env.DEADLINE_MS || 100_000);
const started = Date.now();

class ScenarioFailed extends Error {}

function fail(message) {
  throw new ScenarioFailed(message);
}

function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`--${name} is required`);
  return process.argv[i + 1];
}

function log(message) {
  process.stderr.write(`[kafkajs txn ${((Date.now() - started) / 1000).toFixed(2)}s] ${message}\n`);
}

function overDeadline() {
  return Date.now() - started > DEADLINE_MS;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function records(values) {
  return values.map((v, i) => ({ key: v, value: v, partition: i % PARTITIONS }));
}

async function transactionalProducer(kafka) {
  const producer = kafka.producer({
    transactionalId: "kj-tx",
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 60_000,
  });
  await producer.connect();
  return producer;
}

/** The group's committed offset of `topic` partition `partition`, null if none. */
async function committedOffset(admin, groupId, topic, partition) {
  const [found] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const p = found.partitions.find((x) => x.partition === partition);
  return p === undefined || Number(p.offset) < 0 ? null : Number(p.offset);
}

/** Every value of `topic`, read by a consumer of its own group from the start until the
 * batches it has processed (END_BATCH_PROCESS's lastOffset, which counts the records and
 * control batches kafkajs filtered out) reach each partition's end. */
async function readAll(kafka, admin, topic, readUncommitted, name) {
  const consumer = kafka.consumer({ groupId: `reader-${name}`, readUncommitted, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const values = [];
  const reached = new Map();
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const next = Number(payload.lastOffset) + 1;
    reached.set(payload.partition, Math.max(reached.get(payload.partition) ?? 0, next));
  });
  await consumer.run({ eachMessage: async ({ message }) => values.push(message.value.toString()) });
  const ends = await admin.fetchTopicOffsets(topic);
  while (!ends.every((e) => (reached.get(e.partition) ?? 0) >= Number(e.high))) {
    if (overDeadline()) {
      await consumer.disconnect();
      const at = ends.map((e) => `p${e.partition}: ${reached.get(e.partition) ?? 0} of ${e.high}`);
      fail(`${name}: the consumer did not reach the partitions' ends in time (${at}); read ${values}`);
    }
    await sleep(100);
  }
  await consumer.disconnect();
  return values.sort();
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** One more transaction of `producer` (a record to `txn`'s partition 0, which only the
 * fencing check reads, and it only looks for its own records): its AddPartitionsToTxn is
 * refused with CONCURRENT_TRANSACTIONS, and retried by kafkajs, until the previous
 * transaction's markers are all written, the group's included. EndTxn answers before them,
 * in Kafka as in spool, so the group's offsets are final only after this. */
async function settle(producer) {
  const txn = await producer.transaction();
  await txn.send({ topic: TXN, messages: [{ value: "settle", partition: 0 }] });
  await txn.commit();
}

async function commitAndAbort(kafka, admin, first) {
  const committed = Array.from({ length: 10 }, (_, i) => `committed-${i}`);
  let txn = await first.transaction();
  await txn.send({ topic: TXN, messages: records(committed) });
  await txn.commit();
  const aborted = Array.from({ length: 4 }, (_, i) => `aborted-${i}`);
  txn = await first.transaction();
  await txn.send({ topic: TXN, messages: records(aborted) });
  await txn.abort();
  log("one transaction committed, one aborted");

  let seen = await readAll(kafka, admin, TXN, false, "read_committed");
  if (!same(seen, [...committed].sort())) fail(`read_committed read ${seen}, want the committed ${committed}`);
  seen = await readAll(kafka, admin, TXN, true, "read_uncommitted");
  if (!same(seen, [...committed, ...aborted].sort())) fail(`read_uncommitted read ${seen}, want all 14`);
  log("read_committed read the 10 committed records, read_uncommitted all 14");
  return [committed.length, aborted.length];
}

async function consumeTransformProduce(kafka, admin, first) {
  const plain = kafka.producer({ allowAutoTopicCreation: false });
  await plain.connect();
  const inputs = Array.from({ length: INPUTS }, (_, i) => ({ value: `v-${i}`, partition: 0 }));
  await plain.send({ topic: IN, messages: inputs });
  await plain.disconnect();

  const member = kafka.consumer({ groupId: GROUP, maxWaitTimeInMs: 200, sessionTimeout: 6000 });
  await member.connect();
  await member.subscribe({ topics: [IN], fromBeginning: true });
  const read = [];
  let position = null;
  await member.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      read.push(message.value.toString());
      if (partition === 0) position = Number(message.offset) + 1;
    },
  });
  while (read.length < INPUTS) {
    if (overDeadline()) fail(`the group member read ${read} of \`in\` in time, want ${INPUTS} records`);
    await sleep(100);
  }

  const offsets = (offset) => ({
    consumerGroupId: GROUP,
    topics: [{ topic: IN, partitions: [{ partition: 0, offset: String(offset) }] }],
  });
  let txn = await first.transaction();
  await txn.send({ topic: OUT, messages: records(read.map((v) => `out-${v}`)) });
  await txn.sendOffsets(offsets(position));
  const before = await committedOffset(admin, GROUP, IN, 0);
  if (before !== null) fail(`the group's offset of in-0 is ${before} before the transaction committed, want none`);
  await txn.commit();
  await settle(first);
  const after = await committedOffset(admin, GROUP, IN, 0);
  if (after !== position) fail(`the group's offset of in-0 is ${after} after the commit, want ${position}`);
  log(`sendOffsets: the group's offset appeared with the commit (${after})`);

  txn = await first.transaction();
  await txn.send({ topic: OUT, messages: records(["out-aborted"]) });
  await txn.sendOffsets(offsets(1));
  await txn.abort();
  await settle(first);
  const kept = await committedOffset(admin, GROUP, IN, 0);
  if (kept !== position) fail(`the group's offset of in-0 is ${kept} after an aborted transaction sent 1, want ${position}`);
  await member.disconnect();

  const seen = await readAll(kafka, admin, OUT, false, "read_committed-out");
  const want = read.map((v) => `out-${v}`).sort();
  if (!same(seen, want)) fail(`read_committed read ${seen} from \`out\`, want ${want}`);
  log("an aborted transaction's offsets and records stayed invisible");
  return position;
}

async function fencing(kafka, admin, first) {
  const second = await transactionalProducer(kafka);
  const successor = await second.transaction(); // InitProducerId(kj-tx): the epoch bump fences
  let fenced = null;
  try {
    const txn = await first.transaction();
    await txn.send({ topic: TXN, messages: records(["zombie"]) });
    await txn.commit();
  } catch (e) {
    fenced = e;
  }
  if (fenced === null) fail("the first producer committed after a second one with its transactionalId began a transaction");
  if (!["INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED"].includes(fenced.type)) {
    fail(`the fenced producer failed with ${fenced.name} ${fenced.type}: ${fenced.message}, want INVALID_PRODUCER_EPOCH`);
  }
  if (fenced.retriable) fail(`the fenced producer's error ${fenced.type} is retriable`);
  await successor.send({ topic: TXN, messages: records(["successor"]) });
  await successor.commit();
  const seen = await readAll(kafka, admin, TXN, false, "read_committed-after-fencing");
  if (seen.includes("zombie") || !seen.includes("successor")) fail(`after fencing, read_committed read ${seen}`);
  log(`the first producer was fenced: ${fenced.name} ${fenced.type}`);
  await second.disconnect();
  return fenced.type;
}

async function main() {
  const kafka = new Kafka({ clientId: "kafkajs-txn", brokers: [arg("bootstrap")], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [TXN, IN, OUT].map((topic) => ({ topic, numPartitions: PARTITIONS })),
    waitForLeaders: true,
  });
  const first = await transactionalProducer(kafka);
  const [committed, aborted] = await commitAndAbort(kafka, admin, first);
  const offset = await consumeTransformProduce(kafka, admin, first);
  const fenced = await fencing(kafka, admin, first);
  await first.disconnect();
  await admin.disconnect();
  console.log(`PASS committed=${committed} aborted=${aborted} group_offset=${offset} fenced=${fenced}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    if (!(e instanceof ScenarioFailed)) process.stderr.write(`${e.stack}\n`);
    process.stderr.write(`FAIL: ${e instanceof ScenarioFailed ? e.message : `${e.name}: ${e.message}`}\n`);
    process.exit(1);
  },
);
