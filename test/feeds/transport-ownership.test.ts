/**
 * A stream returned by `replicate(socket)` owns that socket: destroying or failing the stream
 * closes it, and `close()` of the store closes every socket it was handed — also when the peer at
 * the other end never answers.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type net from 'node:net'
import { once } from 'node:events'
import { create, errorOf } from '../helpers/feeds.js'
import { socketPair } from '../helpers/sockets.js'
import { deadline, until } from '../helpers/until.js'

/** A socket whose other end is held by nobody who speaks (it accepts bytes and never answers). */
async function mute(): Promise<net.Socket> {
  const [ours, theirs] = await socketPair()
  theirs.on('data', () => undefined)
  theirs.on('error', () => undefined)
  ours.on('error', () => undefined)
  return ours
}

function closedSocket(socket: net.Socket): Promise<void> {
  return socket.destroyed ? Promise.resolve() : once(socket, 'close').then(() => undefined)
}

test('destroying the stream replicate(socket) returned closes the socket', async (t) => {
  const m = await create(t)
  for (const live of [false, true]) {
    const socket = await mute()
    const stream = m.replicate(socket, { live })
    stream.on('error', () => undefined)
    stream.destroy()
    await deadline(closedSocket(socket), 5000, `the socket closing (live: ${live})`)
  }
})

test('a failed stream closes its socket, also when the peer never hangs up', async (t) => {
  const m = await create(t)
  const socket = await mute()
  const stream = m.replicate(socket, { timeout: 300 })
  assert.equal((await errorOf(stream))?.code, 'ERR_TIMEOUT')
  await deadline(closedSocket(socket), 5000, 'the socket closing')
})

test('close() closes every socket the store was handed: mid-sync, live, and peers that never answer', async (t) => {
  const a = await create<string>(t)
  const b = await create<string>(t)
  await (await a.writer()).append('x')
  const [sa, sb] = await socketPair()
  for (const s of [sa, sb]) s.on('error', () => undefined)
  const live = a.replicate(sa, { live: true })
  b.replicate(sb, { live: true }).on('error', () => undefined)
  live.on('error', () => undefined)
  const silent = await mute()
  a.replicate(silent).on('error', () => undefined)
  const silentLive = await mute()
  a.replicate(silentLive, { live: true }).on('error', () => undefined)
  await until(() => b.feeds().length === 1, 'the live sync')
  await a.close()
  await deadline(
    Promise.all([sa, silent, silentLive].map(closedSocket)),
    5000,
    'every socket closing after close()',
  )
})
