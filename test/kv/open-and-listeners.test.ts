/**
 * What a HyperKV reports when it cannot open its directory, and what a throwing event listener does:
 * its exception surfaces uncaught (as an EventEmitter listener's would) and the events after it still
 * go out.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { HyperKV } from '../../src/kv/index.js'
import { openKv, tempDir } from '../helpers/kv.js'

test('a second store on a directory already open rejects every operation with ERR_LOCKED', async (t) => {
  const dir = await tempDir(t)
  const first = new HyperKV(dir)
  t.after(() => first.close())
  await first.put('a', 1)
  const second = new HyperKV(dir)
  await assert.rejects(second.ready(), { code: 'ERR_LOCKED' })
  await assert.rejects(second.get('a'), { code: 'ERR_LOCKED' })
  await assert.rejects(second.put('b', 2), { code: 'ERR_LOCKED' })
  await second.close()
  assert.deepEqual(Object.values(await first.get('a')), [{ value: 1 }])
})

test("a throwing 'update' listener: its error is uncaught, later events still go out", async (t) => {
  const kv = await openKv(t)
  const boom = new Error('listener failed')
  const uncaught: unknown[] = []
  // Stands in for the process's own handler (which would crash it) while the test runs.
  process.setUncaughtExceptionCaptureCallback((err) => uncaught.push(err))
  t.after(() => process.setUncaughtExceptionCaptureCallback(null))
  const updates: string[] = []
  kv.on('update', (key) => {
    updates.push(key)
    if (key === 'a') throw boom
  })
  await kv.batch([
    { type: 'put', key: 'a', value: 1 },
    { type: 'put', key: 'b', value: 2 },
  ])
  await kv.put('c', 3)
  await kv.ready()
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(updates, ['a', 'b', 'c'])
  assert.equal(uncaught.length, 1)
  assert.equal(uncaught[0], boom)
  assert.deepEqual(Object.values(await kv.get('c')), [{ value: 3 }])
})

test("the log's failures reach kv's 'error' listeners, and nobody listening is no crash", async (t) => {
  const kv = await openKv(t)
  const failure = Object.assign(new Error('index failed'), { code: 'ERR_VIEW_FAILED' })
  // Nobody listens on kv: the log's 'error' goes nowhere (EventEmitter would throw otherwise).
  kv.log.emit('error', failure)
  const seen: Error[] = []
  kv.on('error', (err) => seen.push(err))
  kv.log.emit('error', failure)
  assert.deepEqual(seen, [failure])
  await kv.close()
  kv.log.on('error', () => {}) // kv's forwarder is gone: without a listener the log would throw
  kv.log.emit('error', failure)
  assert.equal(seen.length, 1, 'a closed store no longer forwards')
})
