// Altering a topic's configs (issue 17 item 4) with kafkajs's admin.alterConfigs
// (AlterConfigs; kafkajs has no IncrementalAlterConfigs) and describeConfigs.
// Run by tests/it/admin17_clients.rs, which starts the broker.
//
// The topic is created with segment.bytes=1024 and gets 10 records stamped an
// hour ago, then 10 stamped now, one batch each (several segments).
//
//   bad input        no.such.config=1, retention.ms=-5: INVALID_CONFIG, earliest still 0
//   retention.ms     600000: the hour-old segments go, earliest in 1..=10
//   describeConfigs  retention.ms 600000, configSource DYNAMIC_TOPIC_CONFIG (1)
//
// Exits non-zero with one `FAIL:` line naming what differs; prints `EARLIEST n` and OK.

const { Kafka, logLevel, ConfigResourceTypes } = require('kafkajs')

const args = process.argv.slice(2)
const arg = name => args[args.indexOf(`--${name}`) + 1]
const fail = why => {
  console.log(`FAIL: ${why}`)
  process.exit(1)
}
const DYNAMIC_TOPIC_CONFIG = 1
const DEFAULT_CONFIG = 5
const HOUR_MS = 3600000
const RETENTION_MS = '600000'
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function main() {
  const kafka = new Kafka({ brokers: [arg('bootstrap')], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  const producer = kafka.producer()
  await admin.connect()
  await producer.connect()
  const topic = arg('topic')
  await admin.createTopics({
    topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'segment.bytes', value: '1024' }] }],
  })
  const now = Date.now()
  for (let i = 0; i < 20; i++) {
    const timestamp = String(i < 10 ? now - HOUR_MS : now)
    await producer.send({ topic, messages: [{ partition: 0, value: 'v'.repeat(200), timestamp }] })
  }
  await admin.fetchTopicMetadata({ topics: [topic] })
  const earliest = async () => parseInt((await admin.fetchTopicOffsets(topic))[0].low)
  const resource = configEntries => ({ type: ConfigResourceTypes.TOPIC, name: topic, configEntries })
  const retention = async () => {
    const { resources } = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
      includeSynonyms: false,
    })
    const entry = resources[0].configEntries.find(e => e.configName === 'retention.ms')
    return `${entry.configValue} ${entry.configSource}`
  }

  for (const bad of [[{ name: 'no.such.config', value: '1' }], [{ name: 'retention.ms', value: '-5' }]]) {
    let refused = null
    try {
      await admin.alterConfigs({ resources: [resource(bad)] })
    } catch (e) {
      refused = e
    }
    if (!refused || refused.type !== 'INVALID_CONFIG') fail(`${JSON.stringify(bad)}: ${refused && refused.type}`)
  }
  if ((await retention()) !== `604800000 ${DEFAULT_CONFIG}` || (await earliest()) !== 0) {
    fail(`a refused alter changed something: ${await retention()}, earliest ${await earliest()}`)
  }

  await admin.alterConfigs({ resources: [resource([{ name: 'retention.ms', value: RETENTION_MS }])] })
  const deadline = Date.now() + 60000
  let offset = 0
  while ((offset = await earliest()) === 0) {
    if (Date.now() > deadline) fail('earliest still 0 60s after the alter')
    await sleep(200)
  }
  if (!(offset > 0 && offset <= 10)) fail(`earliest ${offset}: expected the hour-old segments gone, the rest kept`)
  if ((await retention()) !== `${RETENTION_MS} ${DYNAMIC_TOPIC_CONFIG}`) fail(`after the alter: ${await retention()}`)
  await producer.disconnect()
  await admin.disconnect()
  console.log(`EARLIEST ${offset}`)
  console.log('OK kafkajs: bad input INVALID_CONFIG, retention applied live, described as DYNAMIC_TOPIC_CONFIG')
}

main().catch(e => fail(e.stack || e))
