// The cause named in ERR_STORAGE messages, found the way the engines wrap the system's error.
import assert from 'node:assert/strict'
import test from 'node:test'
import { tmpdir } from 'node:os'
import { FreeSpace, causeOf, storageError } from '../../src/util/storage-fault.js'

test('causeOf finds the errno behind RocksDB, LevelDB and fs errors', () => {
  // rocksdb-native: "Batch was not applied", the IO error as its cause (text from a real run).
  const rocks = new Error('Batch was not applied', {
    cause: new Error('While appending to file: /d/db/000004.log: No space left on device'),
  })
  assert.equal(causeOf(rocks), 'ENOSPC')
  // classic-level: the IO error in the message, a LEVEL_ code.
  const level = Object.assign(new Error('IO error: /d/index/000012.log: Permission denied'), {
    code: 'LEVEL_IO_ERROR',
  })
  assert.equal(causeOf(level), 'EACCES')
  assert.equal(
    causeOf(new AggregateError([new Error('x'), new Error('Read-only file system')], 'y')),
    'EROFS',
  )
  assert.equal(causeOf(Object.assign(new Error('open failed'), { code: 'EDQUOT' })), 'EDQUOT')
  assert.equal(causeOf(new Error('something else')), null)
  const named = storageError('the feed storage failed', rocks)
  assert.equal(named.code, 'ERR_STORAGE')
  assert.match(
    named.message,
    /^the feed storage failed: ENOSPC \(While appending to file: .*No space left on device\)$/,
  )
  assert.equal(named.cause, rocks)
})

test('FreeSpace: a recent reading is trusted; a fresh check needs a measurement started at its time or later, such as one measured ahead', async () => {
  const space = new FreeSpace(tmpdir(), 1)
  const first = space.check(1, 'w')
  assert.ok(first instanceof Promise, 'nothing measured yet')
  await first
  assert.equal(space.check(1, 'w'), undefined, 'a recent reading is trusted')
  const fresh = space.check(1, 'w', performance.now())
  assert.ok(fresh instanceof Promise, 'a reading from before is not fresh')
  await fresh
  const from = space.measureAhead()
  const ahead = space.check(1, 'w', from)
  assert.ok(ahead instanceof Promise, 'the measurement ahead is under way')
  await ahead
  assert.equal(space.check(1, 'w', from), undefined, 'the measurement ahead counts from its start')
  assert.ok(space.check(1, 'w', performance.now() + 1) instanceof Promise)
})
