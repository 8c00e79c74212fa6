// CreatePartitions (issue 17) through kafkajs's admin. Run by
// tests/it/admin_createpartitions_clients.rs, which starts the broker.
//
// admin.createPartitions grows a 1-partition topic to 3 (fetchTopicMetadata then
// lists 3), a validateOnly request to 5 succeeds and changes nothing, and
// shrinking to 2 is refused with INVALID_PARTITIONS.
//
//   node admin_createpartitions_kafkajs.js --bootstrap HOST:PORT --topic T
"use strict";

const { Kafka, logLevel } = require("kafkajs");

function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`--${name} is required`);
  return process.argv[i + 1];
}

async function main() {
  const [bootstrap, topic] = [arg("bootstrap"), arg("topic")];
  const kafka = new Kafka({ clientId: "kafkajs-admin", brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const partitions = async () => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.length;

  await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
  if ((await partitions()) !== 3) throw new Error(`after createPartitions to 3: ${await partitions()}`);
  await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }], validateOnly: true });
  if ((await partitions()) !== 3) throw new Error(`validateOnly changed the topic: ${await partitions()}`);
  let refused = null;
  try {
    await admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] });
  } catch (e) {
    refused = e;
  }
  if (!refused) throw new Error("shrinking to 2 partitions succeeded");
  if (refused.type !== "INVALID_PARTITIONS") throw new Error(`shrinking failed with ${refused.type}: ${refused.message}`);
  await admin.disconnect();
  process.stderr.write("kafkajs: grew to 3, dry run to 5 left 3, shrink refused with INVALID_PARTITIONS\n");
  console.log("OK");
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
