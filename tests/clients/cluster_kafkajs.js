// kafkajs 2.x (pure JavaScript) against a spool cluster (chapter 6): bootstrapped from one
// broker, it creates a topic of replication factor 3 (admin.createTopics, waitForLeaders),
// checks the cluster (admin.describeCluster: every broker, and a broker as the
// controller) and the topic's layout (admin.fetchTopicMetadata: each partition's replicas
// all in the ISR, leaders on every broker), then produces to every partition with an
// idempotent producer (acks=-1) and checks each acknowledgement's base offset.
//
// kafkajs's consumer only exists as a group member, so tests/it/cluster_clients.rs reads the
// topic back with `cluster_confluent_kafka.py --consume-only`, which checks every byte.
// The records are kafkajs_scenario.js's record(i), the same as scenario_common.py's.
"use strict";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const { Kafka, logLevel } = require("kafkajs");
const { record } = require("./kafkajs_scenario.js");

// Records per producer.send() call: one request per call.
const SEND_BATCH_RECORDS = 500;

function parseArgs(argv) {
  const args = { partitions: 6, replicationFactor: 3, records: 2000, deadlineS: 60 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) fail(`${flag} needs a value`);
    if (flag === "--bootstrap") args.bootstrap = value;
    else if (flag === "--topic") args.topic = value;
    else if (flag === "--partitions") args.partitions = Number(value);
    else if (flag === "--replication-factor") args.replicationFactor = Number(value);
    else if (flag === "--records") args.records = Number(value);
    else if (flag === "--brokers") args.brokers = value.split(",").map(Number).sort();
    else if (flag === "--deadline-s") args.deadlineS = Number(value);
    else fail(`unknown argument ${flag}`);
  }
  if (!args.bootstrap || !args.topic || !args.brokers) fail("--bootstrap, --topic and --brokers are required");
  return args;
}

const started = Date.now();
function log(message) {
  const elapsed = ((Date.now() - started) / 1000).toFixed(2).padStart(6);
  console.error(`[kafkajs ${elapsed}s] ${message}`);
}

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

const sorted = (ids) => [...ids].sort((a, b) => a - b);
const same = (a, b) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));

// What is wrong with the topic's layout (cluster_common.layout_problems, in JavaScript).
function layoutProblems(partitions, args) {
  const problems = [];
  if (partitions.length !== args.partitions) problems.push(`${partitions.length} partitions, expected ${args.partitions}`);
  for (const p of partitions) {
    if (p.replicas.length !== args.replicationFactor || !p.replicas.every((r) => args.brokers.includes(r))) {
      problems.push(`partition ${p.partitionId}: replicas ${p.replicas}`);
    }
    if (!same(p.isr, p.replicas)) problems.push(`partition ${p.partitionId}: ISR ${p.isr}, replicas ${p.replicas}`);
    if (!p.replicas.includes(p.leader)) problems.push(`partition ${p.partitionId}: leader ${p.leader} not a replica`);
  }
  const leaders = new Set(partitions.map((p) => p.leader));
  if (!same(leaders, args.brokers)) problems.push(`leaders ${sorted(leaders)} do not cover brokers ${args.brokers}`);
  return problems;
}

async function describe(admin, args, deadlineMs) {
  const cluster = await admin.describeCluster();
  const ids = cluster.brokers.map((b) => b.nodeId);
  if (!same(ids, args.brokers)) fail(`describeCluster lists brokers ${sorted(ids)}, expected ${args.brokers}`);
  if (!args.brokers.includes(cluster.controller)) {
    fail(`describeCluster names controller ${cluster.controller}, not one of the brokers ${args.brokers}`);
  }
  log(`describeCluster: brokers ${sorted(ids)}, controller ${cluster.controller}`);
  for (;;) {
    const metadata = await admin.fetchTopicMetadata({ topics: [args.topic] });
    const partitions = metadata.topics[0].partitions;
    const problems = layoutProblems(partitions, args);
    if (problems.length === 0) {
      const leaders = [...partitions].sort((a, b) => a.partitionId - b.partitionId).map((p) => p.leader);
      log(`fetchTopicMetadata: leaders ${leaders}, every ISR full`);
      return;
    }
    if (Date.now() > deadlineMs - 1000) fail(`fetchTopicMetadata of ${args.topic}: ${problems.join("; ")}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function produce(kafka, args) {
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sentPerPartition = new Array(args.partitions).fill(0);
  const baseMs = Math.floor(Date.now() / 1000) * 1000; // scenario_common.timestamp_base_ms
  for (let first = 0; first < args.records; first += SEND_BATCH_RECORDS) {
    const messages = [];
    for (let i = first; i < Math.min(first + SEND_BATCH_RECORDS, args.records); i++) {
      messages.push(record(i, args.partitions, baseMs));
    }
    const acks = await producer.send({ topic: args.topic, acks: -1, messages });
    // Each acknowledgement's base offset is where that partition's share of this send
    // must start: everything before it, exactly once.
    for (const ack of acks) {
      if (ack.errorCode !== 0) fail(`produce to partition ${ack.partition}: error ${ack.errorCode}`);
      if (Number(ack.baseOffset) !== sentPerPartition[ack.partition]) {
        fail(`produce to partition ${ack.partition}: base offset ${ack.baseOffset}, expected ${sentPerPartition[ack.partition]}`);
      }
    }
    for (const m of messages) sentPerPartition[m.partition] += 1;
  }
  await producer.disconnect();
  log(`produced ${args.records} records idempotently with acks=-1, base offsets as expected`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const deadlineMs = Date.now() + args.deadlineS * 1000;
  setTimeout(() => fail(`deadline of ${args.deadlineS}s passed`), args.deadlineS * 1000).unref();
  const kafka = new Kafka({
    clientId: "spool-kafkajs-cluster",
    brokers: [args.bootstrap],
    logLevel: logLevel.WARN,
    connectionTimeout: 10000,
    requestTimeout: 30000,
    retry: { retries: 5 },
  });
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({
    topics: [{ topic: args.topic, numPartitions: args.partitions, replicationFactor: args.replicationFactor }],
    waitForLeaders: true,
    timeout: 10000,
  });
  if (!created) fail(`CreateTopics ${args.topic}: kafkajs says the topic already existed`);
  log(`created ${args.topic}: ${args.partitions} partitions, replication factor ${args.replicationFactor}`);
  await describe(admin, args, deadlineMs);
  await produce(kafka, args);
  await admin.disconnect();
  log("PASS (the records are read back and checked by cluster_confluent_kafka.py --consume-only)");
}

main().catch((e) => fail(`${e.name}: ${e.message}${e.cause ? ` (cause: ${e.cause})` : ""}`));
