/**
 * Closing a Multifeed ends its replication streams without an 'error': our own close is no failure
 * of the stream, and a user who never listened for errors must not see the process crash.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { create, errorOf } from '../helpers/feeds.js'

/** Collects what would otherwise crash the process (an 'error' emitted with no listener). */
function captureUncaught(t: TestContext): unknown[] {
  const uncaught: unknown[] = []
  process.setUncaughtExceptionCaptureCallback((err) => uncaught.push(err))
  t.after(() => process.setUncaughtExceptionCaptureCallback(null))
  return uncaught
}

test('close with a replicate() stream never connected: it closes, no error, no crash', async (t) => {
  const uncaught = captureUncaught(t)
  const m = await create(t)
  const s = m.replicate(true)
  const closed = once(s, 'close')
  await m.close()
  await closed
  await new Promise((resolve) => setImmediate(resolve))
  // Never connected: nothing ended it but the close (Node's premature close for `finished`).
  assert.equal(s.destroyed, true)
  assert.equal(s.readableEnded, false)
  assert.deepEqual(uncaught, [])
})

test('close mid-sync with no error listener on our stream: no crash; the peer fails with a code', async (t) => {
  const uncaught = captureUncaught(t)
  const a = await create<string>(t, { valueEncoding: 'json' })
  const b = await create<string>(t, { valueEncoding: 'json' })
  await (await b.writer()).append('hello')
  // a never finishes: its beforeDone waits for ever, so the close finds the sync under way.
  const sa = a.replicate(true, { beforeDone: () => new Promise<void>(() => {}) })
  const sb = b.replicate(false)
  const peerError = errorOf(sb)
  sa.pipe(sb).pipe(sa)
  await once(sa, 'remote-feeds')
  const closed = once(sa, 'close')
  await a.close()
  await closed
  const err = await peerError
  assert.equal(typeof err?.code, 'string')
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(sa.destroyed, true)
  assert.deepEqual(uncaught, [])
})
