/**
 * `liveTimeout`: a live stream whose peer sends nothing — keep-alives included — for that long
 * fails with ERR_TIMEOUT (the silent peer is in test/reliability/hostile-peers.test.ts). Honest idle
 * peers keep each other alive: each side sends keep-alives often enough for the other's timeout.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { create } from '../helpers/feeds.js'
import { socketPair } from '../helpers/sockets.js'
import { until } from '../helpers/until.js'

test('idle honest live peers exchange keep-alives and stay connected well past liveTimeout', async (t) => {
  const a = await create<string>(t)
  const b = await create<string>(t)
  await (await a.writer()).append('x')
  const sockets = await socketPair()
  const streams = [
    a.replicate(sockets[0], { live: true, liveTimeout: 1000 }),
    b.replicate(sockets[1], { live: true, liveTimeout: 1000 }),
  ]
  const errors: Error[] = []
  for (const s of streams) s.on('error', (err: Error) => errors.push(err))
  await until(() => b.feeds().length === 1, 'the live sync')
  const received = [0, 0]
  const chunks = [0, 0]
  sockets.forEach((socket, i) =>
    socket.on('data', (d: Buffer) => {
      received[i] += d.byteLength
      chunks[i]++
    }),
  )
  // Idle for three timeouts — twelve keep-alives each way, one every quarter of a timeout at most —
  // and only keep-alives cross the connection.
  await until(() => chunks.every((n) => n >= 12), 'twelve keep-alives each way')
  assert.deepEqual(errors, [])
  assert.ok(
    streams.every((s) => !s.destroyed),
    'both streams are still open',
  )
  assert.ok(
    received.every((n) => n > 0),
    `keep-alives arrived both ways (${received.join(', ')} bytes)`,
  )
})

test('liveTimeout is validated', async (t) => {
  const m = await create(t)
  for (const liveTimeout of [0, -1, Infinity, '10' as unknown as number]) {
    assert.throws(() => m.replicate(true, { live: true, liveTimeout }), { code: 'ERR_INVALID_ARGUMENT' })
  }
})
