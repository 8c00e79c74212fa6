// kafkajs reads a compacted topic (tests/it/compaction_clients.rs, chapter 10): the
// same two modes and output as compaction_read.py.
//
// --from-start: a consumer of a fresh group (kafkajs has no group-less consumer)
// starts at the beginning and reads until it has the record at END-1, printing
// `R <offset> <key> <value|NULL>`; offset gaps and emptied batches must not stall it.
// --group G: joins group G (fromBeginning, so offsets the broker lost would show as a
// read from the start), prints `FIRST <offset>` and leaves without committing.
//
//   node compaction_read_kafkajs.js --bootstrap HOST:PORT --topic T (--from-start --end END | --group G)
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const DEADLINE_MS = 40_000;

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i].replace(/^--/, '');
    if (flag === 'from-start') args.fromStart = true;
    else args[flag] = argv[++i];
  }
  if (!args.bootstrap || !args.topic || Boolean(args.fromStart) === Boolean(args.group)) {
    throw new Error('usage: --bootstrap B --topic T (--from-start --end END | --group G)');
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const end = Number(args.end);
  const kafka = new Kafka({ clientId: 'compaction-reader', brokers: [args.bootstrap], logLevel: process.env.KAFKAJS_DEBUG ? logLevel.DEBUG : logLevel.WARN });
  const groupId = args.group || `compaction-reader-${process.pid}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, rebalanceTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topic: args.topic, fromBeginning: true });
  let finish;
  let finished = false;
  const done = new Promise((resolve) => (finish = resolve));
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      if (finished) return;
      const offset = Number(message.offset);
      if (args.group) {
        console.log(`FIRST ${offset}`);
        finished = true;
        finish(true);
        return;
      }
      const key = message.key === null ? 'NULL' : message.key.toString();
      const value = message.value === null ? 'NULL' : message.value.toString();
      console.log(`R ${offset} ${key} ${value}`);
      if (offset >= end - 1) {
        finished = true;
        finish(true);
      }
    },
  });
  const timer = setTimeout(() => finish(false), DEADLINE_MS);
  const ok = await done;
  clearTimeout(timer);
  await consumer.disconnect();
  if (!ok) {
    const what = args.group ? `group ${args.group} was handed no record` : `no record at offset ${end - 1}`;
    console.error(`FAIL: kafkajs: ${what} within ${DEADLINE_MS / 1000} s`);
    process.exit(1);
  }
  console.log('DONE');
}

main().catch((e) => {
  console.error(`FAIL: kafkajs: ${e.stack || e}`);
  process.exit(1);
});
