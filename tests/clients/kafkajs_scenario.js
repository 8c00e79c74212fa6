// kafkajs 2.x (pure JavaScript) against spool: create a topic, produce keyed records
// with headers, and check the per-partition end offsets.
//
// Covers: ApiVersions, Metadata (describeCluster, fetchTopicMetadata), CreateTopics
// (waitForLeaders), Produce (acks=-1; none, gzip, snappy, lz4 or zstd, each batch's codec
// then checked in the segments on disk), ListOffsets (fetchTopicOffsets).
//
// What it does NOT cover, and why: kafkajs's consumer always joins a consumer group
// (there is no assign()), and groups are tested on their own (group_kafkajs.js). So this
// script only writes; run.sh then reads the topic back with
// `confluent_kafka_scenario.py --consume-only`, which checks every byte kafkajs wrote.
// The records are the same function of their index as scenario_common.py's (keep the
// two in step).
//
// Codecs: kafkajs has gzip built in; snappy, lz4 and zstd are registered below through
// CompressionCodecs, kafkajs's extension point: a factory returning an object with async
// compress(encoder) (the records' bytes are encoder.buffer) and decompress(buffer). Each
// writes the framing the Java client writes and Kafka expects (see src/format/compression.rs):
//   snappy  snappyjs (pure JavaScript) in xerial snappy-java's stream framing, 32 KiB
//           blocks, as the Java client writes it (kafkajs-snappy writes raw snappy);
//   lz4     lz4-napi (lz4_flex; its prebuilt binary is an npm package) in the LZ4 frame
//           format with independent blocks (lz4js marks its blocks linked);
//   zstd    @bokuweb/zstd-wasm (libzstd compiled to WebAssembly), one zstd frame.
// None has an install script: setup.sh must work from the npm registry alone, without
// node-gyp (@kafkajs/zstd's cppzst does not compile against Node 20's headers;
// @mongodb-js/zstd downloads its binary at install; kafkajs-lz4's lz4 0.6 is a node-gyp
// build). After producing, check_codec.sh reads the topic's segments with `spool
// dump-log` and requires the batches to carry the codec asked for (see its rule for tiny
// batches): a codec that was never called would still round-trip the records.
"use strict";

// Every record names its partition, so kafkajs's partitioner (and its warning that the
// default one changed in 2.0) is beside the point.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const { spawnSync } = require("child_process");
const path = require("path");
const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = require("kafkajs");
const snappy = require("snappyjs");
const lz4 = require("lz4-napi");
const zstd = require("@bokuweb/zstd-wasm");

const CODECS = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};
// Records per producer.send() call: one request per call, batches of this size.
const SEND_BATCH_RECORDS = 500;

// xerial snappy-java's stream: magic, version 1, compatible version 1, then blocks of at
// most 32 KiB of input, each a big-endian i32 length and a raw snappy block.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = Buffer.concat([XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]);
const XERIAL_BLOCK_BYTES = 32 * 1024;
// zstd frames from streaming writers (the Java client's) may omit the content size; the
// WebAssembly decoder then needs an output bound, and a batch is bounded by the fetch size.
const ZSTD_UNKNOWN_SIZE_BOUND_BYTES = 64 * 1024 * 1024;

const SnappyXerialCodec = () => ({
  async compress(encoder) {
    const input = encoder.buffer;
    const parts = [XERIAL_HEADER];
    for (let at = 0; at < input.length; at += XERIAL_BLOCK_BYTES) {
      const block = snappy.compress(input.subarray(at, at + XERIAL_BLOCK_BYTES));
      const length = Buffer.alloc(4);
      length.writeUInt32BE(block.length);
      parts.push(length, block);
    }
    return Buffer.concat(parts);
  },
  async decompress(buffer) {
    if (buffer.length < XERIAL_HEADER.length || !buffer.subarray(0, 8).equals(XERIAL_MAGIC)) {
      return snappy.uncompress(buffer); // raw snappy, as librdkafka may write it
    }
    const blocks = [];
    for (let at = XERIAL_HEADER.length; at < buffer.length; ) {
      if (at + 4 > buffer.length) throw new Error("xerial snappy: truncated block length");
      const length = buffer.readUInt32BE(at);
      if (at + 4 + length > buffer.length) throw new Error("xerial snappy: truncated block");
      blocks.push(snappy.uncompress(buffer.subarray(at + 4, at + 4 + length)));
      at += 4 + length;
    }
    return Buffer.concat(blocks);
  },
});

const Lz4FrameCodec = () => ({
  async compress(encoder) {
    return lz4.compressFrame(encoder.buffer);
  },
  async decompress(buffer) {
    return lz4.decompressFrame(buffer);
  },
});

// zstd.init() (loading the WebAssembly module) must have resolved before the first call.
const ZstdCodec = () => ({
  async compress(encoder) {
    return Buffer.from(zstd.compress(encoder.buffer, 3));
  },
  async decompress(buffer) {
    return Buffer.from(zstd.decompress(buffer, { defaultHeapSize: ZSTD_UNKNOWN_SIZE_BOUND_BYTES }));
  },
});

CompressionCodecs[CompressionTypes.Snappy] = SnappyXerialCodec;
CompressionCodecs[CompressionTypes.LZ4] = Lz4FrameCodec;
CompressionCodecs[CompressionTypes.ZSTD] = ZstdCodec;

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
    usage(`kafkajs scenario supports --compression ${Object.keys(CODECS).join("|")}, not ${args.compression}`);
  }
  return args;
}

function usage(message) {
  console.error(`usage: kafkajs_scenario.js --bootstrap H:P --topic T [--partitions P] ` +
    `[--records N] [--compression none|gzip|snappy|lz4|zstd] [--deadline-s S]\n${message}`);
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

// The topic's batches on disk must carry the codec asked for (check_codec.sh reads
// the segments with `spool dump-log`; run.sh sets SPOOL_BIN and SPOOL_LOG_DIR).
function checkCodecOnDisk(topic, codec) {
  if (!process.env.SPOOL_LOG_DIR) {
    log("codec on the wire not checked: SPOOL_LOG_DIR is not set (run.sh sets it)");
    return;
  }
  const script = path.join(__dirname, "check_codec.sh");
  const result = spawnSync("bash", [script, topic, codec], { encoding: "utf8", timeout: 60000 });
  const said = `${result.stdout || ""}${result.stderr || ""}`.trim().split("\n");
  const last = said[said.length - 1] || `exited ${result.status}`;
  if (result.status !== 0) fail(last.replace(/^FAIL: /, ""));
  log(last);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  setTimeout(() => fail(`deadline of ${args.deadlineS}s passed`), args.deadlineS * 1000).unref();
  await zstd.init();

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
  checkCodecOnDisk(args.topic, args.compression);

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

// cluster_kafkajs.js writes the same records: it requires this file for record().
module.exports = { record };
if (require.main === module) {
  main().catch((e) => fail(`${e.name}: ${e.message}${e.cause ? ` (cause: ${e.cause})` : ""}`));
}
