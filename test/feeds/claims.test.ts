/**
 * Proving a claimed length (src/feeds/replication/claims.ts) with real Hypercores replicating
 * through Corestore: a claim no peer proves yet is asked again within CLAIM_GRACE_MS (our offer of
 * a new length can overtake the Hypercore channel's own message of it); one no peer proves within
 * it is refuted; the end of the stream settles it as 'ended'.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { CLAIM_GRACE_MS, proveLength } from '../../src/feeds/replication/claims.js'
import { tempDir } from '../helpers/temp.js'

async function pair(t: TestContext): Promise<{ source: Hypercore; copy: Hypercore; stream: unknown }> {
  const a = new Corestore(await tempDir(t, 'kappadb-claims-'))
  const b = new Corestore(await tempDir(t, 'kappadb-claims-'))
  const source: Hypercore = a.get({ name: 'w' })
  await source.ready()
  await source.append(Buffer.from('0'))
  const copy: Hypercore = b.get({ key: source.key })
  await copy.ready()
  const sa = a.replicate(true)
  const sb = b.replicate(false)
  sa.pipe(sb).pipe(sa)
  t.after(async () => {
    sa.destroy()
    sb.destroy()
    await Promise.all([a.close(), b.close()])
  })
  await copy.update({ wait: true })
  assert.equal(copy.length, 1)
  return { source, copy, stream: sb.noiseStream }
}

const never = new Promise<void>(() => undefined)
const noCheck = () => Promise.resolve()

test('a length the writer reaches only after the claim arrived is proven, not refuted', async (t) => {
  const { source, copy, stream } = await pair(t)
  const proving = proveLength(copy, 2, stream, never, noCheck)
  // The claim is in flight before the peer's core has the length: its first round finds none.
  await new Promise<void>((resolve) => setImmediate(resolve))
  await source.append(Buffer.from('1'))
  assert.equal(await proving, 'proven')
  assert.equal(copy.length, 2)
})

test('a length no peer proves within the grace is refuted; an ended stream ends the wait', async (t) => {
  assert.ok(CLAIM_GRACE_MS > 0)
  const { copy, stream } = await pair(t)
  assert.equal(await proveLength(copy, 5, stream, never, noCheck), 'refuted')
  assert.equal(await proveLength(copy, 5, stream, Promise.resolve(), noCheck), 'ended')
  assert.equal(await proveLength(copy, 1, stream, never, noCheck), 'proven')
})
