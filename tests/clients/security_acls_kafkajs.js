// ACLs judged by kafkajs (chapter 11, issue 19); the kafkajs half of
// security_acls.py's `bob` mode. Run by tests/it/security_clients.rs.
//
//   security_acls_kafkajs.js --sasl H:P
//
// admin (a super user, SASL PLAIN) creates, describes and deletes an ACL with
// admin.createAcls / describeAcls / deleteAcls; bob, named by no ACL, is
// refused on produce with TOPIC_AUTHORIZATION_FAILED; after admin allows
// Write and Describe on the PREFIXED pattern `bob-`, bob produces to
// `bob-topic` and is still refused on `other`.
//
// Exits non-zero with one `FAIL:` line naming what differs; prints OK.

const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } =
  require('kafkajs')
const { errorCodes } = require('kafkajs/src/protocol/error')

const args = process.argv.slice(2)
const arg = name => args[args.indexOf(`--${name}`) + 1]
const fail = why => {
  console.log(`FAIL: ${why}`)
  process.exit(1)
}

const kafka = (username, password) =>
  new Kafka({
    brokers: [arg('sasl')],
    logLevel: logLevel.NOTHING,
    sasl: { mechanism: 'plain', username, password },
    retry: { retries: 0 },
  })

const acl = (principal, resourceName, operation, resourcePatternType) => ({
  resourceType: AclResourceTypes.TOPIC,
  resourceName,
  resourcePatternType,
  principal,
  host: '*',
  operation,
  permissionType: AclPermissionTypes.ALLOW,
})

async function produceError(producer, topic) {
  try {
    await producer.send({ topic, messages: [{ key: 'k', value: 'v' }] })
    return null
  } catch (e) {
    // A non-retriable broker error reaches the caller wrapped in a
    // KafkaJSNonRetriableError that keeps only its message: name it back by
    // kafkajs's own table of Kafka's error codes.
    const known = errorCodes.find(c => c.message === e.message)
    return e.type || (known && known.type) || `${e.name}: ${e.message}`
  }
}

async function main() {
  const admin = kafka('admin', 'admin-secret').admin()
  await admin.connect()
  const zed = acl('User:zed', 'zed-topic', AclOperationTypes.READ, ResourcePatternTypes.LITERAL)
  await admin.createAcls({ acl: [zed] })
  const filter = { ...zed, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }
  const described = await admin.describeAcls(filter)
  const found = described.resources.flatMap(r => r.acls.map(a => `${r.resourceName} ${a.principal} ${a.operation}`))
  if (JSON.stringify(found) !== JSON.stringify([`zed-topic User:zed ${AclOperationTypes.READ}`]))
    fail(`describeAcls: ${JSON.stringify(described)}`)
  const deleted = await admin.deleteAcls({ filters: [filter] })
  if (deleted.filterResponses[0].matchingAcls.length !== 1) fail(`deleteAcls: ${JSON.stringify(deleted)}`)
  if ((await admin.describeAcls(filter)).resources.length !== 0) fail('the ACL is still there after deleteAcls')
  console.error('createAcls, describeAcls, deleteAcls round trip')

  const bob = kafka('bob', 'bob-secret').producer()
  await bob.connect()
  const refused = await produceError(bob, 'other')
  if (refused !== 'TOPIC_AUTHORIZATION_FAILED') fail(`bob produce other: ${refused}`)
  console.error(`bob produce other: refused with ${refused}`)
  await admin.createAcls({
    acl: [AclOperationTypes.WRITE, AclOperationTypes.DESCRIBE].map(op =>
      acl('User:bob', 'bob-', op, ResourcePatternTypes.PREFIXED)
    ),
  })
  const allowed = await produceError(bob, 'bob-topic')
  if (allowed !== null) fail(`bob produce bob-topic after the grant: ${allowed}`)
  const still = await produceError(bob, 'other')
  if (still !== 'TOPIC_AUTHORIZATION_FAILED') fail(`bob produce other after the grant: ${still}`)
  console.error('bob produces to bob-topic after the grant, and is still refused on other')
  await bob.disconnect()
  await admin.disconnect()
  console.log('OK')
  process.exit(0)
}

main().catch(e => fail(`${e.name}: ${e.message}`))
