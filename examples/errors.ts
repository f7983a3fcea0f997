// Handling errors by code: every error kappadb gives is a KappaError with a stable `code`
// (README, "Error codes"); switch on the code, never on the message.
// Runnable as it is: node --import tsx examples/errors.ts
import { PassThrough } from 'node:stream'
import { ErrorCodes, hyperkv, isKappaError, kappa } from 'kappadb'

// A replication between stores of two different databases: both sides' finished() reject.
const ours = kappa('./errors-ours', { encryptionKey: 'aa'.repeat(32) })
const theirs = kappa('./errors-theirs', { encryptionKey: 'bb'.repeat(32) })
await (await ours.writer()).append('hello')
const a = ours.replicate(true)
const b = theirs.replicate(false)
a.pipe(b).pipe(a)
for (const result of await Promise.allSettled([a.finished(), b.finished()])) {
  if (result.status === 'rejected' && isKappaError(result.reason, 'ERR_KEY_MISMATCH')) {
    console.log('not the same database:', result.reason.code)
  }
}
await Promise.all([ours.close(), theirs.close()])

// A node that is not there; then a store used after close.
const kv = hyperkv('./errors-kv')
try {
  await kv.log.get('00'.repeat(32))
} catch (err) {
  if (isKappaError(err)) {
    switch (err.code) {
      case ErrorCodes.ERR_NOT_FOUND:
        console.log('no such node (notFound:', err.notFound, ')')
        break
      default:
        throw err
    }
  } else throw err
}
await kv.close()
await kv.put('k', 'v').catch((err: unknown) => {
  if (isKappaError(err, 'ERR_CLOSED')) console.log('closed:', err.code)
  else throw err
})

// A peer that sends garbage fails the stream with ERR_PROTOCOL; the store is unharmed.
const store = kappa('./errors-garbage')
const stream = store.replicate(false)
const peer = new PassThrough()
peer.pipe(stream).pipe(new PassThrough().resume())
peer.write(Buffer.alloc(256, 7))
const failure = await stream.finished().then(
  () => null,
  (err: unknown) => err,
)
console.log('garbage from a peer:', isKappaError(failure) ? failure.code : failure)
await store.close()
