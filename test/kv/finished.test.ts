// A HyperKV's replication (`kv.log.replicate`) over real TCP sockets: `finished()` resolves once
// a non-live sync is through, and live, at `'caught-up'` the peer's puts read back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openKvs } from '../helpers/kv.js'
import { socketPair } from '../helpers/sockets.js'

test('two HyperKVs over TCP: await both finished(), then each reads the other', async (t) => {
  const [a, b] = await openKvs(t, 2)
  await a!.put('from-a', 'hello')
  await b!.put('from-b', 'hi')
  const [left, right] = await socketPair()
  const sa = a!.log.replicate(left)
  const sb = b!.log.replicate(right)
  await Promise.all([sa.finished(), sb.finished()])
  assert.deepEqual(Object.values(await b!.get('from-a')), [{ value: 'hello' }])
  assert.deepEqual(Object.values(await a!.get('from-b')), [{ value: 'hi' }])
})

test("live HyperKVs over TCP: at 'caught-up' every put of the peer reads back", async (t) => {
  const [a, b] = await openKvs(t, 2)
  const count = 300
  await a!.batch(Array.from({ length: count }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: i })))
  const [left, right] = await socketPair()
  const sa = a!.log.replicate(left, { live: true })
  const sb = b!.log.replicate(right, { live: true })
  const read = await new Promise<Promise<unknown[]>>((resolve) =>
    sb.once('caught-up', () => {
      // Reads started at the event: what they see was indexed before it.
      resolve(Promise.all([b!.get(`k${count - 1}`), b!.createReadStream().toArray()]))
    }),
  )
  const [last, rows] = (await read) as [Record<string, unknown>, unknown[]]
  assert.deepEqual(Object.values(last), [{ value: count - 1 }])
  assert.equal(rows.length, count)
  sa.end()
  sb.end()
  await Promise.all([sa.finished(), sb.finished()])
})
