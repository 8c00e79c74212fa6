// kafkajs's consumer group against spool's group coordinator (chapter 5). Run by
// tests/it/group_clients.rs, which starts the broker.
//
// kafkajs's consumer always joins a group (it has no assign()), so before chapter 5 it
// could not read at all. Two consumers of one groupId read a 4-partition topic with
// eachMessage and kafkajs's own commits (autoCommit, resolved per batch); together they
// read every record exactly once, and the group's committed offsets (admin.fetchOffsets,
// OffsetFetch) are the end of every partition.
//
//   node group_kafkajs.js --bootstrap HOST:PORT --topic T --group G
"use strict";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const { Kafka, logLevel } = require("kafkajs");

const PARTITIONS = 4;
const RECORDS = 200;
const DEADLINE_MS = 60_000;

function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`--${name} is required`);
  return process.argv[i + 1];
}

function log(message) {
  process.stderr.write(`[kafkajs group ${((Date.now() - started) / 1000).toFixed(2)}s] ${message}\n`);
}

const started = Date.now();

async function main() {
  const [bootstrap, topic, groupId] = [arg("bootstrap"), arg("topic"), arg("group")];
  const kafka = new Kafka({ clientId: "kafkajs-group", brokers: [bootstrap], logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const messages = [];
  for (let i = 0; i < RECORDS; i++) {
    messages.push({ key: `key-${i}`, value: "v", partition: i % PARTITIONS });
  }
  await producer.send({ topic, messages });
  await producer.disconnect();
  log(`produced ${RECORDS} records into ${PARTITIONS} partitions`);

  const seen = [];
  const consumers = [];
  for (const name of ["kj-1", "kj-2"]) {
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      rebalanceTimeout: 10000,
      maxWaitTimeInMs: 200,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    consumers.push([name, consumer]);
  }
  // run() resolves once the member has joined and synced: start both at once, so that
  // group.initial.rebalance.delay.ms gathers them into the group's first generation.
  await Promise.all(
    consumers.map(([name, consumer]) =>
      consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.push({ name, partition, offset: Number(message.offset), key: message.key.toString() });
        },
      }),
    ),
  );
  while (new Set(seen.map((s) => `${s.partition}:${s.offset}`)).size < RECORDS) {
    if (Date.now() - started > DEADLINE_MS) {
      throw new Error(`consumed ${seen.length} of ${RECORDS} records within ${DEADLINE_MS} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // disconnect() waits for the running batch, commits it, and leaves the group.
  for (const [, consumer] of consumers) await consumer.disconnect();
  const distinct = new Set(seen.map((s) => `${s.partition}:${s.offset}`));
  if (seen.length !== RECORDS || distinct.size !== RECORDS) {
    throw new Error(`consumed ${seen.length} records (${distinct.size} distinct), produced ${RECORDS}`);
  }
  const byMember = {};
  for (const s of seen) (byMember[s.name] ||= new Set()).add(s.partition);
  log(`consumed all ${RECORDS} once; partitions by member: ${JSON.stringify(Object.fromEntries(
    Object.entries(byMember).map(([k, v]) => [k, [...v].sort()])))}`);

  const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = fetched.partitions.map((p) => [p.partition, Number(p.offset)]).sort((a, b) => a[0] - b[0]);
  const expected = [...Array(PARTITIONS).keys()].map((p) => [p, RECORDS / PARTITIONS]);
  if (JSON.stringify(committed) !== JSON.stringify(expected)) {
    throw new Error(`committed ${JSON.stringify(committed)}, expected ${JSON.stringify(expected)}`);
  }
  const groups = await admin.describeGroups([groupId]);
  log(`committed offsets at the end of every partition; group state ${groups.groups[0].state}`);
  await admin.disconnect();
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${e && e.stack ? e.stack : e}\nFAIL: ${e && e.message ? e.message : e}\n`);
    process.exit(1);
  },
);
