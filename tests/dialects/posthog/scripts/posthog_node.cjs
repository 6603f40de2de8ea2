// Driven by test_sdk_node.py under the real posthog-node: argv = url key ids-json.
const { PostHog } = require('posthog-node')

const [url, key, idsJson] = process.argv.slice(2)
const ids = JSON.parse(idsJson)
const errors = []

async function main () {
  const client = new PostHog(key, { host: url, flushAt: 50, flushInterval: 0, fetchRetryCount: 1 })
  client.on('error', (err) => errors.push(String(err)))
  client.capture({
    distinctId: ids.user,
    event: 'node_order_paid',
    uuid: ids.uuid,
    properties: { amount_cents: 4900, $current_url: 'https://shop.example/checkout?utm_source=node' }
  })
  client.identify({ distinctId: ids.user, properties: { $anon_distinct_id: ids.anon, email: 'kofi@example.com', plan: 'free' } })
  client.setPersonProperties({ distinctId: ids.user, properties: { plan: 'pro' }, propertiesOnce: { first_plan: 'free' } })
  client.unsetPersonProperties({ distinctId: ids.user, properties: ['email'] })
  client.alias({ distinctId: ids.user, alias: ids.other })
  await client.shutdown()
  console.log(JSON.stringify({ errors }))
}

main().catch((err) => { console.error(err); process.exit(1) })
