/**
 * `feed.createReadStream({ start, end, live })`: an object-mode Readable of values, read in
 * batches through `getBatch`, from `start` (default: the feed's `start`, 0 unless it is sparse; a
 * start below a sparse feed's errors the stream with ERR_NOT_FOUND). Not live, it stops at `end`
 * (default: the length when created);
 * live, it waits for `'append'` and follows the feed until destroyed or the feed closes. A null
 * entry (JSON `null`) is read as `undefined`: null would end the stream.
 */
import { Readable } from 'node:stream'
import { KappaError } from '../errors.js'
import type { Feed } from './types.js'

export interface FeedReadStreamOptions {
  start?: number
  end?: number
  live?: boolean
}

const READ_BATCH = 256

export function createFeedReadStream<T>(feed: Feed<T>, opts: FeedReadStreamOptions): Readable {
  if (opts === null || typeof opts !== 'object') throw KappaError.invalid('opts must be an object')
  const { start = feed.start, live = false } = opts
  if (!Number.isSafeInteger(start) || start < 0)
    throw KappaError.invalid('start must be a non-negative integer')
  if (opts.end !== undefined && (!Number.isSafeInteger(opts.end) || opts.end < 0)) {
    throw KappaError.invalid('end must be a non-negative integer')
  }
  const end = opts.end ?? (live ? Infinity : feed.length)
  let seq = start
  let waiting: (() => void) | null = null

  const stopWaiting = () => {
    if (waiting) {
      feed.off('append', waiting)
      feed.off('close', waiting)
      waiting = null
    }
  }

  const stream = new Readable({
    objectMode: true,
    read() {
      pump()
    },
    destroy(err, cb) {
      stopWaiting()
      cb(err)
    },
  })

  const isClosed = () => (feed as { closed?: boolean }).closed === true

  function pump(): void {
    if (isClosed()) {
      stream.destroy(KappaError.closed('feed'))
      return
    }
    if (seq >= end) {
      stream.push(null)
      return
    }
    if (seq >= feed.length) {
      // Wait for more entries (live, or an explicit end beyond the current length).
      waiting = () => {
        stopWaiting()
        pump()
      }
      feed.once('append', waiting)
      feed.once('close', waiting)
      return
    }
    const to = Math.min(end, feed.length, seq + READ_BATCH)
    feed.getBatch(seq, to).then(
      (values) => {
        seq = to
        // Backpressure: read() is called again once the consumer has drained what we pushed.
        // A Readable cannot carry null (pushing it ends the stream): a null entry comes out as
        // undefined, which no JSON value decodes to.
        for (const value of values) stream.push(value === null ? undefined : value)
      },
      (err: unknown) => stream.destroy(err instanceof Error ? err : new Error(String(err))),
    )
  }

  return stream
}
