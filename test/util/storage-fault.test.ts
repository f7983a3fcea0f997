// The cause named in ERR_STORAGE messages, found the way the engines wrap the system's error.
import assert from 'node:assert/strict'
import test from 'node:test'
import { causeOf, storageError } from '../../src/util/storage-fault.js'

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
