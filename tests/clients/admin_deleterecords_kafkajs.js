// Issue 17's DeleteRecords with kafkajs's admin.deleteTopicRecords. The test
// (tests/it/admin_deleterecords_clients.rs) has produced 10 records to TOPIC-0.
//
//   delete before 4    earliest (admin.fetchTopicOffsets' low) is 4
//   delete before 99   refused: OFFSET_OUT_OF_RANGE (beyond the high watermark); earliest still 4
//   delete before -1   earliest is 10 (the high watermark)
//
// Exits non-zero with one `FAIL:` line naming what differs; prints `PASS ...` otherwise.

const { Kafka, logLevel } = require('kafkajs')

const args = process.argv.slice(2)
const arg = name => args[args.indexOf(`--${name}`) + 1]
const fail = why => {
  console.log(`FAIL: ${why}`)
  process.exit(1)
}

async function main() {
  const kafka = new Kafka({ brokers: [arg('bootstrap')], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  const topic = arg('topic')
  // kafkajs looks the leaders up in metadata it already holds (else
  // KafkaJSTopicMetadataNotLoaded): load the topic's first, as its docs' examples do.
  await admin.fetchTopicMetadata({ topics: [topic] })
  const earliest = async () => parseInt((await admin.fetchTopicOffsets(topic))[0].low)

  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] })
  if ((await earliest()) !== 4) fail(`earliest after deleting before 4: ${await earliest()}`)
  let refused = null
  try {
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '99' }] })
  } catch (e) {
    refused = e
  }
  // kafkajs's retrier wraps its KafkaJSDeleteTopicRecordsError (one error per partition).
  const perPartition = refused && (refused.partitions ? refused : refused.cause)
  const codes = perPartition && (perPartition.partitions || []).map(p => p.error && p.error.type)
  if (!refused || !codes.includes('OFFSET_OUT_OF_RANGE')) fail(`delete before 99: ${refused} ${codes}`)
  if ((await earliest()) !== 4) fail(`earliest moved on a refused delete: ${await earliest()}`)
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] })
  if ((await earliest()) !== 10) fail(`earliest after deleting everything: ${await earliest()}`)
  await admin.disconnect()
  console.log('PASS kafkajs: earliest 4 then 10, OFFSET_OUT_OF_RANGE refused')
}

main().catch(e => fail(e.stack || e))
