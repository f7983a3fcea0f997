/**
 * `ReadAhead`: how an indexer reads its feeds. It reads a chunk of entries larger than a batch in
 * one `getBatch` and hands out the batches from it, and once the chunk is nearly used it starts
 * reading the next one while the last batch is mapped. Batches stay what they were (contiguous,
 * one feed, at most `maxBatch`); only the reads are fewer and overlap the mapping. Feeds are
 * append-only, so entries read ahead never go stale.
 */
import { KappaError } from '../errors.js'
import type { Feed, FeedKey } from '../feeds/types.js'
import { markHandled } from '../util/errors.js'

/** Entries per read, at least (a view's `maxBatch` when larger). */
export const READ_AHEAD_ENTRIES = 1024

/**
 * Stands in for an entry of a remote feed that does not decode with the feed's valueEncoding (a
 * peer wrote it with another one): the indexer skips it instead of failing the view for good.
 */
export class Undecodable {
  constructor(readonly error: Error) {}
}

interface Chunk<T> {
  feed: FeedKey
  start: number
  values: (T | Undecodable)[]
}

interface PendingChunk<T> {
  feed: FeedKey
  start: number
  values: Promise<(T | Undecodable)[]>
}

export class ReadAhead<T> {
  readonly #size: number
  #chunk: Chunk<T> | null = null
  #next: PendingChunk<T> | null = null

  constructor(maxBatch: number) {
    this.#size = Math.max(maxBatch, READ_AHEAD_ENTRIES)
  }

  /** Entries `[start, end)` of `feed` (all below its length). */
  async read(feed: Feed<T>, start: number, end: number): Promise<(T | Undecodable)[]> {
    let chunk = this.#chunk
    if (!covers(chunk, feed.id, start, end)) {
      chunk = await this.#take(feed, start)
      // A chunk read ahead while the feed was shorter may end too soon: read again.
      if (!covers(chunk, feed.id, start, end)) chunk = await this.#take(feed, start)
      this.#chunk = chunk
    }
    const from = start - chunk.start
    const values = chunk.values.slice(from, from + end - start)
    const chunkEnd = chunk.start + chunk.values.length
    if (chunkEnd - end < end - start && chunkEnd < feed.length) this.#prefetch(feed, chunkEnd)
    return values
  }

  /** The chunk read ahead from `start`, or a fresh read. */
  async #take(feed: Feed<T>, start: number): Promise<Chunk<T>> {
    const next = this.#next
    this.#next = null
    const values =
      next && next.feed === feed.id && next.start === start
        ? await next.values
        : await this.#readChunk(feed, start)
    return { feed: feed.id, start, values }
  }

  #prefetch(feed: Feed<T>, start: number): void {
    if (this.#next) return
    const values = this.#readChunk(feed, start)
    // A failed read ahead surfaces when (and only if) its chunk is used.
    markHandled(values)
    this.#next = { feed: feed.id, start, values }
  }

  async #readChunk(feed: Feed<T>, start: number): Promise<(T | Undecodable)[]> {
    const end = Math.min(feed.length, start + this.#size)
    try {
      return await feed.getBatch(start, end)
    } catch (err) {
      // Our own entries always decode (we encoded them): only a remote feed's may be skipped.
      if (feed.writable || !isProtocolError(err)) throw err
      return readEach(feed, start, end)
    }
  }
}

/** One entry at a time, an `Undecodable` in place of each entry that does not decode. */
async function readEach<T>(feed: Feed<T>, start: number, end: number): Promise<(T | Undecodable)[]> {
  const reads: Promise<T | Undecodable>[] = []
  for (let seq = start; seq < end; seq++) {
    reads.push(
      feed.get(seq).catch((err: unknown) => {
        if (isProtocolError(err)) return new Undecodable(err as Error)
        throw err
      }),
    )
  }
  return Promise.all(reads)
}

function isProtocolError(err: unknown): boolean {
  return err instanceof KappaError && err.code === 'ERR_PROTOCOL'
}

function covers<T>(chunk: Chunk<T> | null, feed: FeedKey, start: number, end: number): chunk is Chunk<T> {
  return (
    chunk !== null && chunk.feed === feed && start >= chunk.start && end <= chunk.start + chunk.values.length
  )
}
