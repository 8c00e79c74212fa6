// kafkajs 2.x (pure JavaScript) against spool: create a topic, produce keyed records
// with headers, and check the per-partition end offsets.
//
// Covers: ApiVersions, Metadata (describeCluster, fetchTopicMetadata), CreateTopics
// (waitForLeaders), Produce (acks=-1, none or gzip), ListOffsets (fetchTopicOffsets).
//
// What it does NOT cover, and why: kafkajs's consumer always joins a consumer group
// (there is no assign()), and spool has no group coordinator before chapter 5. So this
// script only writes; run.sh then reads the topic back with
// `confluent_kafka_scenario.py --consume-only`, which checks every byte kafkajs wrote.
// The records are the same function of their index as scenario_common.py's (keep the
// two in step). Codecs: kafkajs has gzip built in; snappy, lz4 and zstd need extra
// codec packages, so this scenario accepts only none and gzip.
"use strict";

// Every record names its partition, so kafkajs's partitioner (and its warning that the
// default one changed in 2.0) is beside the point.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const { Kafka, CompressionTypes, logLevel } = require("kafkajs");

const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP };
// Records per producer.send() call: one request per call, batches of this size.
const SEND_BATCH_RECORDS = 500;

function parseArgs(argv) {
  const args = { partitions: 3, records: 10000, compression: "none", deadlineS: 120 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) usage(`${flag} needs a value`);
    if (flag === "--bootstrap") args.bootstrap = value;
    else if (flag === "--topic") args.topic = value;
    else if (flag === "--partitions") args.partitions = Number(value);
    else if (flag === "--records") args.records = Number(value);
    else if (flag === "--compression") args.compression = value;
    else if (flag === "--deadline-s") args.deadlineS = Number(value);
    else usage(`unknown argument ${flag}`);
  }
  if (!args.bootstrap || !args.topic) usage("--bootstrap and --topic are required");
  if (!(args.compression in CODECS)) {
    usage(`kafkajs scenario supports --compression none|gzip, not ${args.compression}`);
  }
  return args;
}

function usage(message) {
  console.error(`usage: kafkajs_scenario.js --bootstrap H:P --topic T [--partitions P] ` +
    `[--records N] [--compression none|gzip] [--deadline-s S]\n${message}`);
  process.exit(2);
}

// The same records as scenario_common.py: key, value, headers, partition and timestamp
// of record i.
function record(i, partitions, baseMs) {
  const note = i % 11 === 0 ? "crème brûlée" : "plain";
  const blob = i % 2500 === 1234 ? "x".repeat(65536) : "";
  const text =
    `{"order":${i},"customer":"c-${i % 97}","qty":${i % 13},` +
    `"note":"${note}","pad":"${"ab".repeat(i % 29)}","blob":"${blob}"}`;
  return {
    key: Buffer.from(`key-${i}`),
    value: i % 1000 === 500 ? null : Buffer.from(text, "utf8"), // every 1,000th a tombstone
    headers: {
      "trace-id": Buffer.from(`t-${i.toString(16).padStart(8, "0")}`),
      bytes: Buffer.from([i % 256, 0x00, 0xff, (7 * i) % 256]),
    },
    partition: i % partitions,
    timestamp: String(baseMs + i),
  };
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

async function main() {
  const args = parseArgs(process.argv.slice(2));
  setTimeout(() => fail(`deadline of ${args.deadlineS}s passed`), args.deadlineS * 1000).unref();

  const kafka = new Kafka({
    clientId: "spool-kafkajs-scenario",
    brokers: [args.bootstrap],
    logLevel: logLevel.WARN,
    connectionTimeout: 10000,
    requestTimeout: 30000,
    retry: { retries: 3 },
  });

  const admin = kafka.admin();
  await admin.connect();
  const cluster = await admin.describeCluster();
  log(`cluster ${cluster.clusterId}: brokers ${JSON.stringify(cluster.brokers)}, controller ${cluster.controller}`);

  const created = await admin.createTopics({
    topics: [{ topic: args.topic, numPartitions: args.partitions, replicationFactor: 1 }],
    waitForLeaders: true,
    timeout: 10000,
  });
  if (!created) fail(`CreateTopics ${args.topic}: kafkajs says the topic already existed`);
  const metadata = await admin.fetchTopicMetadata({ topics: [args.topic] });
  const partitionsSeen = metadata.topics[0].partitions.length;
  if (partitionsSeen !== args.partitions) {
    fail(`Metadata lists ${partitionsSeen} partitions of ${args.topic}, expected ${args.partitions}`);
  }
  log(`created ${args.topic} with ${args.partitions} partitions`);

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const sentPerPartition = new Array(args.partitions).fill(0);
  const baseMs = Math.floor(Date.now() / 1000) * 1000; // scenario_common.timestamp_base_ms
  for (let first = 0; first < args.records; first += SEND_BATCH_RECORDS) {
    const messages = [];
    for (let i = first; i < Math.min(first + SEND_BATCH_RECORDS, args.records); i++) {
      messages.push(record(i, args.partitions, baseMs));
    }
    const acks = await producer.send({
      topic: args.topic,
      acks: -1,
      compression: CODECS[args.compression],
      messages,
    });
    // Each acknowledgement's base offset is where that partition's share of this send
    // must start: everything before it, exactly once.
    for (const ack of acks) {
      if (ack.errorCode !== 0) fail(`produce to partition ${ack.partition}: error ${ack.errorCode}`);
      if (Number(ack.baseOffset) !== sentPerPartition[ack.partition]) {
        fail(`produce to partition ${ack.partition}: base offset ${ack.baseOffset}, ` +
          `expected ${sentPerPartition[ack.partition]}`);
      }
    }
    for (const m of messages) sentPerPartition[m.partition] += 1;
  }
  await producer.disconnect();
  log(`produced ${args.records} records (${args.compression}), base offsets as expected`);

  const offsets = await admin.fetchTopicOffsets(args.topic);
  const got = {};
  for (const o of offsets) got[o.partition] = [Number(o.low), Number(o.high)];
  for (let p = 0; p < args.partitions; p++) {
    const want = [0, sentPerPartition[p]];
    if (JSON.stringify(got[p]) !== JSON.stringify(want)) {
      fail(`ListOffsets partition ${p}: [low, high] ${JSON.stringify(got[p])}, expected ${JSON.stringify(want)}`);
    }
  }
  const total = Object.values(got).reduce((sum, [low, high]) => sum + high - low, 0);
  if (total !== args.records) fail(`end offsets sum to ${total}, expected ${args.records}`);
  log(`ListOffsets: end offsets sum to ${total}; the bytes are checked by another client`);
  await admin.disconnect();
  log("PASS");
}

main().catch((e) => fail(`${e.name}: ${e.message}${e.cause ? ` (cause: ${e.cause})` : ""}`));
