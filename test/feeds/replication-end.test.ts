/**
 * How non-live replications end: every `done` reaches the peer before the end, a finished or
 * failed session never keeps a stream (or `close()`) waiting, and a peer that is gone is noticed at
 * once. Regressions found by the reliability suite (docs/RELIABILITY.md).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Duplex } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { create, errorOf } from '../helpers/feeds.js'
import { deadline } from '../helpers/until.js'
import { socketPair } from '../helpers/sockets.js'

function codes(errors: Array<(Error & { code?: string }) | null>): Array<string | null> {
  return errors.map((err) => (err ? (err.code ?? err.message) : null))
}

function pipePair(sa: Duplex, sb: Duplex): Promise<Array<string | null>> {
  sa.pipe(sb).pipe(sa)
  return Promise.all([errorOf(sa), errorOf(sb)]).then(codes)
}

// Seed 2730686059: the push side holds a prefix of the sync side's feed, so its Hypercore asks for
// an upgrade; the sync side serves it with the protomux muxer corked (across a storage read) just
// when it sends `done`. Ending the Noise stream then lost the corked `done`: the push side failed
// with ERR_PROTOCOL, and the sync side (finished) waited for ever for an end that never came.
test('a sync side serving a push peer that holds a prefix of its feed: both end cleanly', async (t) => {
  const a = await create<number>(t, { valueEncoding: 'json' })
  const b = await create<number>(t, { valueEncoding: 'json' })
  const w = await a.writer()
  for (let round = 0; round < 4; round++) {
    // More than 64 entries: several blocks per append, so the peer's prefix is a real prefix.
    await w.append(Array.from({ length: 70 }, (_, i) => round * 70 + i))
    const outcome = pipePair(a.replicate(true, { mode: 'sync' }), b.replicate(false, { mode: 'push' }))
    assert.deepEqual(await deadline(outcome, 5000, `round ${round}`), [null, null], `round ${round}`)
    // The push side takes nothing; give it the new entries for the next round's prefix.
    await deadline(pipePair(a.replicate(true), b.replicate(false)), 5000, `catch-up ${round}`)
    assert.equal(b.feed(w.key)?.length, (round + 1) * 70)
  }
})

// A cut used to cost each side a 1 s grace period waiting for an end that could no longer go out.
test('a socket destroyed mid-sync: that side fails as its socket closes, both sides with ERR_PROTOCOL', async (t) => {
  const a = await create<number>(t, { valueEncoding: 'json' })
  const b = await create<number>(t, { valueEncoding: 'json' })
  const w = await a.writer()
  await w.append(Array.from({ length: 20_000 }, (_, i) => i))
  const sockets = await socketPair()
  // A cut socket errors on the other side: the replication stream reports it, the socket need not.
  for (const s of sockets) s.on('error', () => undefined)
  const streams = [a.replicate(sockets[0]), b.replicate(sockets[1])]
  const outcome = Promise.all(streams.map(errorOf)).then(codes)
  await new Promise((resolve) => streams[1].once('remote-feeds', resolve))
  sockets[1].destroy()
  await new Promise((resolve) => sockets[1].once('close', resolve))
  await nextTurn()
  assert.equal(streams[1].destroyed, true, 'failed as its socket closed, not after a grace period')
  assert.deepEqual(await deadline(outcome, 5000, 'the cut'), ['ERR_PROTOCOL', 'ERR_PROTOCOL'])
})

// Seed 4284940182: the side that saw the conflict first could fail before its own hello was out
// (sent after the store opened), so the peer saw an early close instead of the conflict.
test('push+push and pull+pull over TCP, live or not: both sides ERR_MODE_CONFLICT', async (t) => {
  const a = await create<number>(t, { valueEncoding: 'json' })
  const b = await create<number>(t, { valueEncoding: 'json' })
  await (await a.writer()).append(1)
  await (await b.writer()).append(2)
  for (const live of [false, true]) {
    for (const mode of ['push', 'pull'] as const) {
      const sockets = await socketPair()
      for (const s of sockets) s.on('error', () => undefined)
      const streams = [a.replicate(sockets[0], { mode, live }), b.replicate(sockets[1], { mode, live })]
      const outcome = Promise.all(streams.map(errorOf)).then(codes)
      const what = `${mode}+${mode}${live ? ' live' : ''}`
      assert.deepEqual(await deadline(outcome, 5000, what), ['ERR_MODE_CONFLICT', 'ERR_MODE_CONFLICT'], what)
    }
  }
})
