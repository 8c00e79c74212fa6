// kafkajs over one secured listener (chapter 11, issue 19); the kafkajs half
// of security_scenario.py, with the same flags. Run by tests/it/security_clients.rs.
//
//   security_kafkajs.js MODE --bootstrap H:P --protocol P [--ca F]
//       [--cert F --key F] [--user U --password P] [--topic T]
//
//   roundtrip   5 records with keys and headers to partition 0, consumed back
//               in a fresh group from the beginning: all equal, in order
//   bad-login   wrong credentials: KafkaJSSASLAuthenticationError within 15 s
//
// Exits non-zero with one `FAIL:` line naming what differs; prints OK.

const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

const args = process.argv.slice(2)
const mode = args[0]
const arg = name => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined)
const fail = why => {
  console.log(`FAIL: ${why}`)
  process.exit(1)
}
const DEADLINE_MS = 15000
const RECORDS = 5

function kafka() {
  const protocol = arg('protocol')
  const config = { brokers: [arg('bootstrap')], logLevel: logLevel.NOTHING, connectionTimeout: 5000 }
  config.retry = { retries: mode === 'bad-login' ? 0 : 5 }
  if (protocol.includes('SSL')) {
    config.ssl = { ca: [fs.readFileSync(arg('ca'), 'utf-8')] }
    if (arg('cert')) {
      config.ssl.cert = fs.readFileSync(arg('cert'), 'utf-8')
      config.ssl.key = fs.readFileSync(arg('key'), 'utf-8')
    }
  }
  if (protocol.startsWith('SASL')) {
    config.sasl = { mechanism: (arg('mechanism') || 'PLAIN').toLowerCase(), username: arg('user'), password: arg('password') }
  }
  return new Kafka(config)
}

const expected = () =>
  [...Array(RECORDS).keys()].map(i => ({
    key: `key-${i}`,
    value: `value-${i}`,
    headers: { trace: `t-${i}`, bin: Buffer.from([i, 0, 255]).toString('hex') },
  }))

async function roundtrip() {
  const client = kafka()
  const topic = arg('topic') || 'secured'
  const producer = client.producer()
  await producer.connect()
  const messages = expected().map(m => ({
    partition: 0,
    key: m.key,
    value: m.value,
    headers: { trace: m.headers.trace, bin: Buffer.from(m.headers.bin, 'hex') },
  }))
  await producer.send({ topic, messages })
  await producer.disconnect()

  const consumer = client.consumer({ groupId: `g-kafkajs-${Date.now()}` })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const read = []
  const done = new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error(`only ${read.length} records in ${DEADLINE_MS} ms`)), DEADLINE_MS)
    consumer.run({
      eachMessage: async ({ message }) => {
        read.push({
          key: message.key.toString(),
          value: message.value.toString(),
          headers: { trace: message.headers.trace.toString(), bin: message.headers.bin.toString('hex') },
        })
        if (read.length === RECORDS) resolve()
      },
    })
  })
  try {
    await done
  } catch (e) {
    fail(e.message)
  }
  await consumer.disconnect()
  const want = JSON.stringify(expected())
  if (JSON.stringify(read) !== want) fail(`read back ${JSON.stringify(read)}, expected ${want}`)
  console.error(`read back ${read.length} records with their keys and headers`)
}

async function badLogin() {
  const producer = kafka().producer()
  const started = Date.now()
  try {
    await producer.connect()
  } catch (e) {
    if (e.name !== 'KafkaJSSASLAuthenticationError') fail(`refused with ${e.name}: ${e.message}`)
    if (Date.now() - started > DEADLINE_MS) fail(`refused only after ${Date.now() - started} ms`)
    console.error(`refused as expected: ${e.name}: ${e.message}`)
    return
  }
  fail('a wrong password was accepted')
}

async function main() {
  console.error(`kafkajs ${mode} over ${arg('protocol')} at ${arg('bootstrap')}`)
  if (mode === 'roundtrip') await roundtrip()
  else if (mode === 'bad-login') await badLogin()
  else fail(`unknown mode ${mode}`)
  console.log('OK')
  process.exit(0)
}

main().catch(e => fail(`${e.name}: ${e.message}`))
