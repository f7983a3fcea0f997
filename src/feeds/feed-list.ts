/**
 * The persisted index of a database's feeds: one record per feed — key, local name or none, and
 * what it held when its core last closed (messages.ts, "Feed index") — in the order feeds were
 * first added. A store opens from it alone, without opening a feed's core. The records are user
 * data of a local Hypercore of the database's namespace, opened inactive so it is never announced
 * to peers; records are written in atomic storage batches, one at a time (`put`).
 */
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { coreError } from './block-index.js'
import { userDataEntries, writeUserData } from './dependency-internals.js'
import {
  decodeBlockRecord,
  decodeFeedRecord,
  encodeBlockRecord,
  encodeFeedRecord,
  type BlockRecord,
  type FeedRecord,
} from './messages.js'
import { markHandled, settled } from '../util/errors.js'

const LIST_CORE_NAME = 'kappadb/feed-index'
const RECORD_PREFIX = 'feed/'
/** Block records (messages.ts, "Block record"): `blocked/<hex key>`. */
const BLOCK_PREFIX = 'blocked/'

/** A record as loaded, with the ordinal it is stored under. */
export interface ListedFeed extends FeedRecord {
  ordinal: number
}

/** Everything the index holds: the feeds, first added first, and the blocked keys. */
export interface LoadedList {
  feeds: ListedFeed[]
  blocked: BlockRecord[]
}

export class FeedList {
  readonly #core: Hypercore
  #next = 0
  /** Records waiting for the next batch, by ordinal (encoded). */
  readonly #queued = new Map<number, Buffer>()
  /** The batch being written (or the last one), and the one that writes `queued` after it. */
  #batch: Promise<void> | null = null
  #nextBatch: Promise<void> | null = null
  readonly #all = new Set<Promise<void>>()

  constructor(ns: Corestore) {
    this.#core = ns.get({ name: LIST_CORE_NAME, active: false })
  }

  /** Every stored record, first added first (a key listed twice counts once), and the block records. */
  async load(): Promise<LoadedList> {
    try {
      await this.#core.ready()
      const records: ListedFeed[] = []
      const blocked: BlockRecord[] = []
      const seen = new Set<string>()
      for (const { key, value } of await userDataEntries(this.#core)) {
        if (key.startsWith(BLOCK_PREFIX)) {
          const record = decodeBlockRecord(value)
          if (key !== BLOCK_PREFIX + record.key.toString('hex')) continue
          blocked.push(record)
          continue
        }
        if (!key.startsWith(RECORD_PREFIX)) continue
        const ordinal = Number.parseInt(key.slice(RECORD_PREFIX.length), 16)
        if (!Number.isSafeInteger(ordinal)) continue
        if (ordinal >= this.#next) this.#next = ordinal + 1
        const record = decodeFeedRecord(value)
        const id = record.key.toString('hex')
        if (seen.has(id)) continue
        seen.add(id)
        records.push({ ...record, ordinal })
      }
      return { feeds: records, blocked }
    } catch (err) {
      throw coreError(err)
    }
  }

  /** Stores that `record.key` is blocked (replacing an earlier block record of it). */
  putBlocked(record: BlockRecord): Promise<void> {
    return this.#track(
      this.#core.setUserData(BLOCK_PREFIX + record.key.toString('hex'), encodeBlockRecord(record)),
    )
  }

  /** Deletes the block record of `key` (none: nothing changes). */
  deleteBlocked(key: Buffer): Promise<void> {
    return this.#track(this.#core.setUserData(BLOCK_PREFIX + key.toString('hex'), null))
  }

  /** The ordinal of a feed being added (its place in the order). */
  reserve(): number {
    return this.#next++
  }

  /**
   * Stores `record` under `ordinal`, replacing the one there. Records are written one storage
   * batch at a time, each batch holding every record put while the one before it was written (a
   * first sync admits feeds by the dozen): records of one ordinal land in call order, and one
   * superseded before its batch is written is never written.
   */
  put(ordinal: number, record: FeedRecord): Promise<void> {
    this.#queued.set(ordinal, encodeFeedRecord(record))
    if (this.#nextBatch === null) {
      const previous = this.#batch
      const write = async (): Promise<void> => {
        await settled(previous)
        this.#batch = batch
        this.#nextBatch = null
        const entries = [...this.#queued].map(([o, bytes]) => [keyOf(o), bytes] as const)
        this.#queued.clear()
        await writeUserData(this.#core, entries)
      }
      const batch = write()
      const tracked = this.#track(batch)
      markHandled(tracked)
      this.#nextBatch = tracked
      return tracked
    }
    return this.#nextBatch
  }

  /** `write`, awaited by `close()`; its failure is a coded storage error. */
  #track(write: Promise<void>): Promise<void> {
    const done = write.catch((err: unknown) => {
      throw coreError(err)
    })
    const tracked = settled(done)
    this.#all.add(tracked)
    void tracked.then(() => this.#all.delete(tracked))
    return done
  }

  async close(): Promise<void> {
    while (this.#all.size > 0) await Promise.all([...this.#all])
    await this.#core.close()
  }
}

function keyOf(ordinal: number): string {
  return RECORD_PREFIX + ordinal.toString(16).padStart(8, '0')
}
