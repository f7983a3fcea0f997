/**
 * `log.batch(docs, { proof })`, HyperKV's way to skip the index read of hashes and links: the proof
 * holds only while the DAG is at the change it was made at; after that the docs are checked like
 * any others (a doc already there is the existing node, a missing link is ERR_NOT_FOUND).
 */
import assert from 'node:assert/strict'
import test from 'node:test'
import { isKappaError } from '../../src/errors.js'
import type { NodeHash } from '../../src/hyperlog/index.js'
import { createLog } from '../helpers/hyperlog.js'

test('a proof made at the current change: the docs are added', async (t) => {
  const log = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const first = await log.add(null, 'a')
  const [second, third] = await log.batch(
    [
      { links: [first.key], value: 'b' },
      { links: [], value: 'c' },
    ],
    { proof: { proven: [true, true], asOf: log.changes } },
  )
  assert.deepEqual([second!.change, third!.change], [2, 3])
  assert.deepEqual(second!.links, [first.key])
  assert.deepEqual((await log.heads()).map((n) => n.value).sort(), ['b', 'c'])
})

test('a stale proof: a doc already there is the existing node, not a new change', async (t) => {
  const log = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const asOf = log.changes
  const existing = await log.add(null, 'same')
  const [node] = await log.batch([{ links: [], value: 'same' }], { proof: { proven: [true], asOf: asOf } })
  assert.equal(node!.key, existing.key)
  assert.equal(node!.change, existing.change)
  assert.equal(log.changes, 1)
})

test('a stale proof: a link that is not there is ERR_NOT_FOUND and nothing is written', async (t) => {
  const log = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const asOf = log.changes
  await log.add(null, 'moves the DAG on')
  const missing = 'f'.repeat(64) as NodeHash
  await assert.rejects(
    log.batch([{ links: [missing], value: 'x' }], { proof: { proven: [true], asOf: asOf } }),
    (err) => isKappaError(err) && err.code === 'ERR_NOT_FOUND',
  )
  assert.equal(log.changes, 1)
})

test('docs not marked proven are checked even with a current proof', async (t) => {
  const log = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const existing = await log.add(null, 'same')
  const [fresh, again] = await log.batch(
    [
      { links: [], value: 'new' },
      { links: [], value: 'same' },
    ],
    { proof: { proven: [true, false], asOf: log.changes } },
  )
  assert.equal(fresh!.change, 2)
  assert.equal(again!.key, existing.key)
  assert.equal(again!.change, 1)
  assert.equal(log.changes, 2)
})

test('a malformed proof is refused before anything is written', async (t) => {
  const log = await createLog<string>(t, { valueEncoding: 'utf-8' })
  for (const proof of [
    { asOf: -1, proven: [true] },
    { asOf: 0, proven: [true, true] },
    { asOf: 0, proven: ['yes'] },
    null,
  ]) {
    await assert.rejects(log.batch([{ links: [], value: 'x' }], { proof } as never), (err) =>
      isKappaError(err, 'ERR_INVALID_ARGUMENT'),
    )
  }
  assert.equal(log.changes, 0)
})
