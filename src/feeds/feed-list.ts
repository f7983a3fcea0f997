/**
 * The persisted index of a database's feeds: one record per feed — key, local name or none, and
 * what it held when its core last closed (messages.ts, "Feed index") — in the order feeds were
 * first added. A store opens from it alone, without opening a feed's core. The records are user
 * data of a local Hypercore of the database's namespace, opened inactive so it is never announced
 * to peers; each write of a record is one atomic storage batch.
 */
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { coreError } from './block-index.js'
import { userDataEntries } from './dependency-internals.js'
import { decodeFeedRecord, encodeFeedRecord, type FeedRecord } from './messages.js'

const LIST_CORE_NAME = 'kappadb/feed-index'
const RECORD_PREFIX = 'feed/'

/** A record as loaded, with the ordinal it is stored under. */
export interface ListedFeed extends FeedRecord {
  ordinal: number
}

export class FeedList {
  private readonly core: Hypercore
  private next = 0
  /** Per ordinal: the write in flight, and the newest record waiting to be written after it. */
  private readonly writing = new Map<number, { done: Promise<void>; queued: FeedRecord | null }>()
  private readonly all = new Set<Promise<void>>()

  constructor(ns: Corestore) {
    this.core = ns.get({ name: LIST_CORE_NAME, active: false })
  }

  /** Every stored record, first added first; a key listed twice counts once. */
  async load(): Promise<ListedFeed[]> {
    try {
      await this.core.ready()
      const records: ListedFeed[] = []
      const seen = new Set<string>()
      for (const { key, value } of await userDataEntries(this.core)) {
        if (!key.startsWith(RECORD_PREFIX)) continue
        const ordinal = Number.parseInt(key.slice(RECORD_PREFIX.length), 16)
        if (!Number.isSafeInteger(ordinal)) continue
        if (ordinal >= this.next) this.next = ordinal + 1
        const record = decodeFeedRecord(value)
        const id = record.key.toString('hex')
        if (seen.has(id)) continue
        seen.add(id)
        records.push({ ...record, ordinal })
      }
      return records
    } catch (err) {
      throw coreError(err)
    }
  }

  /** The ordinal of a feed being added (its place in the order). */
  reserve(): number {
    return this.next++
  }

  /**
   * Stores `record` under `ordinal`, replacing the one there. Writes of one ordinal land in call
   * order; a record superseded while an earlier write of it is in flight is never written.
   */
  put(ordinal: number, record: FeedRecord): Promise<void> {
    const running = this.writing.get(ordinal)
    if (running) {
      running.queued = record
      return running.done
    }
    const slot: { done: Promise<void>; queued: FeedRecord | null } = { done: Promise.resolve(), queued: null }
    slot.done = (async () => {
      let next: FeedRecord | null = record
      try {
        while (next !== null) {
          const bytes = encodeFeedRecord(next)
          slot.queued = null
          await this.core.setUserData(keyOf(ordinal), bytes)
          next = slot.queued
        }
      } catch (err) {
        throw coreError(err)
      } finally {
        this.writing.delete(ordinal)
      }
    })()
    this.writing.set(ordinal, slot)
    const tracked = slot.done.catch(() => undefined)
    this.all.add(tracked)
    void tracked.then(() => this.all.delete(tracked))
    return slot.done
  }

  async close(): Promise<void> {
    while (this.all.size > 0) await Promise.all([...this.all])
    await this.core.close()
  }
}

function keyOf(ordinal: number): string {
  return RECORD_PREFIX + ordinal.toString(16).padStart(8, '0')
}
