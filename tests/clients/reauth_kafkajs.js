// kafkajs kept busy across several SASL session lifetimes (chapter 11,
// KIP-368); the kafkajs half of reauth_scenario.py, with the same flags.
// Run by tests/it/reauth_clients.rs.
//
//   reauth_kafkajs.js --bootstrap H:P --user U --password P --topic T [--seconds S]
//
// kafkajs re-authenticates lazily: before a request, when the session is
// within `reauthenticationThreshold` of its end. The broker's lifetime is a
// few seconds, so the threshold is 1 s (its default, 10 s, is longer than
// the whole session). One producer and one consumer (group `reauth-js`)
// keep their connections for S seconds: each round produces a record and
// waits for the consumer to see it. Exits non-zero with one `FAIL:` line;
// prints OK.

const { Kafka, logLevel } = require('kafkajs')

const args = process.argv.slice(2)
const arg = name => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined)
const fail = why => {
  console.log(`FAIL: ${why}`)
  process.exit(1)
}
const DEADLINE_MS = 15000
const ROUND_PAUSE_MS = 300

async function main() {
  const kafka = new Kafka({
    brokers: [arg('bootstrap')],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    reauthenticationThreshold: 1000,
    sasl: { mechanism: 'plain', username: arg('user'), password: arg('password') },
  })
  const topic = arg('topic')
  const seconds = Number(arg('seconds') || 10)
  const producer = kafka.producer()
  const consumer = kafka.consumer({ groupId: 'reauth-js', maxWaitTimeInMs: 200 })
  await producer.connect()
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = []
  let wake = () => {}
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(message.value.toString())
      wake()
    },
  })
  const end = Date.now() + seconds * 1000
  let rounds = 0
  while (Date.now() < end) {
    const value = `${arg('user')}-${rounds}`
    await producer.send({ topic, messages: [{ value, partition: 0 }] })
    const deadline = Date.now() + DEADLINE_MS
    while (!seen.includes(value)) {
      if (Date.now() > deadline) fail(`${value} not consumed within ${DEADLINE_MS} ms; seen ${seen}`)
      await new Promise(resolve => {
        wake = resolve
        setTimeout(resolve, 100)
      })
    }
    rounds += 1
    await new Promise(resolve => setTimeout(resolve, ROUND_PAUSE_MS))
  }
  const want = [...Array(rounds).keys()].map(i => `${arg('user')}-${i}`)
  if (JSON.stringify(seen) !== JSON.stringify(want)) fail(`consumed ${seen}, expected ${want}`)
  await consumer.disconnect()
  await producer.disconnect()
  console.error(`${rounds} rounds in ${seconds} s, every record consumed in order`)
  console.log('OK')
}

main().catch(e => fail(`${e.name}: ${e.message}`))
