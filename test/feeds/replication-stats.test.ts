// replicationStats(stream): blocks and bytes moved each way, and what each side still lacks.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { coreOf, create, runPair } from '../helpers/feeds.js'
import { replicationStats } from '../../src/feeds/index.js'
import { isKappaError } from '../../src/errors.js'
import { until } from '../helpers/until.js'

test('a sync counts each block once: sent by one side, received by the other, bytes equal', async (t) => {
  const a = await create<string>(t, { valueEncoding: 'utf-8' })
  const b = await create<string>(t, { valueEncoding: 'utf-8' })
  const wa = await a.writer('a')
  const wb = await b.writer('b')
  // Separate appends: one block each.
  for (let i = 0; i < 20; i++) await wa.append(`a${i}`.repeat(50))
  for (let i = 0; i < 3; i++) await wb.append(`b${i}`)
  const blocksA = (await coreOf(wa)).length
  const blocksB = (await coreOf(wb)).length

  const sa = a.replicate(true)
  const sb = b.replicate(false)
  // Before anything moved: all zero.
  assert.deepEqual(replicationStats(sa), {
    blocksReceived: 0,
    bytesReceived: 0,
    blocksSent: 0,
    bytesSent: 0,
    blocksToReceive: 0,
    blocksToSend: 0,
    feeds: 0,
  })
  await runPair(sa, sb)
  const ra = replicationStats(sa)
  const rb = replicationStats(sb)
  assert.equal(ra.blocksSent, blocksA)
  assert.equal(rb.blocksReceived, blocksA)
  assert.equal(ra.blocksReceived, blocksB)
  assert.equal(rb.blocksSent, blocksB)
  assert.equal(ra.bytesSent, rb.bytesReceived)
  assert.equal(rb.bytesSent, ra.bytesReceived)
  assert.ok(ra.bytesSent > 20 * 100, 'the bytes are the blocks’ bytes')
  // Readable after the close, and nothing more counted on a closed stream.
  const again = a.replicate(true)
  const againB = b.replicate(false)
  await runPair(again, againB)
  assert.deepEqual(replicationStats(sa), ra)
  assert.equal(replicationStats(again).blocksSent, 0, 'in sync: nothing moves')
})

test('a live stream reports what the peer holds that we do not yet, and it goes to 0', async (t) => {
  const a = await create<string>(t, { valueEncoding: 'utf-8' })
  const b = await create<string>(t, { valueEncoding: 'utf-8' })
  const wa = await a.writer('a')
  await wa.append('first')
  const sa = a.replicate(true, { live: true })
  const sb = b.replicate(false, { live: true })
  sa.pipe(sb).pipe(sa)
  t.after(() => {
    sa.destroy()
    sb.destroy()
  })
  await until(() => replicationStats(sb).blocksReceived === 1, 'the first block to arrive')
  for (let i = 0; i < 10; i++) await wa.append(`more ${i}`)
  await until(() => replicationStats(sb).blocksReceived === 11, 'all eleven blocks to arrive')
  await until(() => replicationStats(sb).blocksToReceive === 0 && replicationStats(sa).blocksToSend === 0)
  assert.equal(replicationStats(sa).blocksSent, 11)
  assert.ok(replicationStats(sb).feeds >= 1)
})

test('replicationStats of any other stream: ERR_INVALID_ARGUMENT', () => {
  assert.throws(
    () => replicationStats(new PassThrough()),
    (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
})
