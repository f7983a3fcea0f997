/**
 * The persisted, ordered list of a database's feeds: (key, local name or none), in the order they
 * were first added. It lives in a local Hypercore of the database's namespace, opened inactive so it
 * is never announced to peers; `feeds()` keeps this order across reopening.
 */
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { coreError } from './block-index.js'
import { decodeFeedRecord, encodeFeedRecord, type FeedRecord } from './messages.js'

const LIST_CORE_NAME = 'kappadb/feed-list'

export class FeedList {
  private readonly core: Hypercore
  private writing: Promise<unknown> = Promise.resolve()

  constructor(ns: Corestore) {
    this.core = ns.get({ name: LIST_CORE_NAME, active: false })
  }

  /** Every stored record, first added first; a key listed twice counts once. */
  async load(): Promise<FeedRecord[]> {
    try {
      await this.core.ready()
      const records: FeedRecord[] = []
      const seen = new Set<string>()
      for (let i = 0; i < this.core.length; i++) {
        const raw = await this.core.get(i, { wait: false })
        if (raw === null) continue
        const record = decodeFeedRecord(raw)
        const id = record.key.toString('hex')
        if (seen.has(id)) continue
        seen.add(id)
        records.push(record)
      }
      return records
    } catch (err) {
      throw coreError(err)
    }
  }

  /** Appends records in call order (appends are serialized so the order on disk is the call order). */
  add(records: FeedRecord[]): Promise<void> {
    const write = this.writing.then(async () => {
      try {
        await this.core.append(records.map(encodeFeedRecord))
      } catch (err) {
        throw coreError(err)
      }
    })
    this.writing = write.catch(() => undefined)
    return write
  }

  async close(): Promise<void> {
    await this.writing
    await this.core.close()
  }
}
