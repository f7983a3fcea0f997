/**
 * `DagReads`: what readers get from the committed DAG index — node records by hash, and the
 * visible nodes of a range of change numbers (through the change runs).
 */
import type { LevelSublevel } from '../kappa/index.js'
import type { IsHidden, KnownNode } from './dag-indexer.js'
import {
  CHANGES_RANGE,
  changeKey,
  decodeChangeRun,
  decodeNodeRecord,
  fromLexHex,
  nodeKey,
  type NodeRecord,
} from './messages.js'
import { readKeys } from './read-keys.js'
import type { NodeHash } from './types.js'

export class DagReads {
  readonly #data: LevelSublevel
  /** The largest committed change number. */
  readonly #changes: () => number
  readonly #hidden: IsHidden

  constructor(data: LevelSublevel, changes: () => number, hidden: IsHidden) {
    this.#data = data
    this.#changes = changes
    this.#hidden = hidden
  }

  /** Raw committed values of these keys of the data sublevel, one round trip. */
  readMany(keys: string[]): Promise<(Buffer | undefined)[]> {
    return readKeys<Buffer>(this.#data, keys)
  }

  /** Committed records of these hashes (undefined where not visible), one round trip. */
  async readRecords(hashes: readonly string[]): Promise<(NodeRecord | undefined)[]> {
    const found = await this.readMany(hashes.map(nodeKey))
    return found.map((bytes) => (bytes === undefined ? undefined : decodeNodeRecord(bytes)))
  }

  /**
   * The nodes with a change in (`gt`, `lt`), in change order (or reversed), at most
   * `limit`: the change runs overlapping the range — the one holding `gt + 1` starts at or before
   * it — then one read of their records. Hidden nodes are among them, marked `hidden` (readers
   * skip them; they count towards `limit`, so a short answer still means the range is done).
   */
  async readChanges(range: {
    gt: number
    lt: number
    reverse: boolean
    limit: number
  }): Promise<KnownNode[]> {
    const low = range.gt + 1
    const high = Math.min(range.lt - 1, this.#changes())
    if (range.limit <= 0 || high < low) return []
    const level = this.#data
    const [runStart] = (await level
      .keys({ gt: CHANGES_RANGE.gt, lte: changeKey(low), reverse: true, limit: 1 })
      .all()) as string[]
    const runs = level.iterator({
      gte: runStart ?? changeKey(low),
      lte: changeKey(high),
      reverse: range.reverse,
    }) as AsyncIterable<[string, Buffer]> & { close(): Promise<void> }
    const keys: NodeHash[] = []
    try {
      for await (const [key, bytes] of runs) {
        const first = fromLexHex(key.slice(2))
        const hashes = decodeChangeRun(bytes)
        const from = Math.max(low, first) - first
        const to = Math.min(high, first + hashes.length - 1) - first
        if (range.reverse) for (let i = to; i >= from && keys.length < range.limit; i--) keys.push(hashes[i])
        else for (let i = from; i <= to && keys.length < range.limit; i++) keys.push(hashes[i])
        if (keys.length >= range.limit) break
      }
    } finally {
      await runs.close()
    }
    const records = await this.readRecords(keys)
    const nodes: KnownNode[] = []
    for (let i = 0; i < keys.length; i++) {
      const record = records[i]
      if (!record) continue
      nodes.push(this.#hidden(record) ? { hash: keys[i], record, hidden: true } : { hash: keys[i], record })
    }
    return nodes
  }
}
