/**
 * `DagView`: the DAG index as a kappa view (a `levelView`, so each batch's index writes and the
 * view's position commit in one level batch), plus the committed in-memory state readers use:
 * the change counter, the heads, commit notifications, and waiters for nodes being indexed.
 */
import { levelView, type LevelDb, type ViewDb } from '../kappa/index.js'
import type { View } from '../kappa/types.js'
import type { FeedKey } from '../feeds/types.js'
import { DagIndexer, type BatchOutcome, type KnownNode, type VerifyNode } from './dag-indexer.js'
import type { NodeHasher } from './hash.js'
import {
  CHANGES_RANGE,
  HEADS_RANGE,
  PENDING_RANGE,
  changeKey,
  decodeNodeRecord,
  fromLexHex,
  hashOfHeadKey,
  nodeKey,
  type NodeRecord,
} from './messages.js'
import type { ChangeSource } from './read-stream.js'
import type { HyperlogValueEncoding, NodeHash } from './types.js'

/** Bump when the index layout changes: kappa then clears the view and rebuilds it. */
export const DAG_VIEW_VERSION = 1
/** Entries per view batch: one `getMany` and one level batch each. */
const DAG_MAX_BATCH = 1000

export interface DagViewOptions {
  hasher: NodeHasher
  verify?: VerifyNode
  isLocal: (feed: FeedKey) => boolean
  /**
   * After each commit, before waiters resolve. `claimed(hash)`: the value encoding of the local add
   * waiting for that node (undefined when none waits).
   */
  onCommit: (outcome: BatchOutcome, claimed: (hash: NodeHash) => HyperlogValueEncoding | undefined) => void
}

interface Waiter {
  encoding: HyperlogValueEncoding
  resolve: (node: KnownNode) => void
  reject: (err: Error) => void
}

export class DagView implements ChangeSource {
  /** The kappa view to install. */
  readonly view: View<unknown, object>
  /** Largest committed change number. */
  changes = 0
  /** Committed heads. */
  readonly heads = new Set<NodeHash>()
  /** Replicated nodes refused by `verify` so far. */
  verifyFailures = 0

  readonly #indexer: DagIndexer
  readonly #onCommit: DagViewOptions['onCommit']
  #db!: ViewDb<Buffer>
  #outcome: BatchOutcome | null = null
  readonly #waiters = new Map<NodeHash, Waiter[]>()
  readonly #listeners = new Set<() => void>()

  constructor(root: LevelDb, opts: DagViewOptions) {
    this.#onCommit = opts.onCommit
    this.view = levelView<unknown, object, Buffer>(
      root,
      { keyEncoding: 'utf8', valueEncoding: 'buffer' },
      (db) => {
        this.#db = db
        return {
          maxBatch: DAG_MAX_BATCH,
          map: async (entries) => {
            const { ops, outcome } = await this.#indexer.map(entries)
            if (ops.length > 0) await db.batch(ops)
            this.#outcome = outcome
          },
          indexed: () => {
            const outcome = this.#outcome
            this.#outcome = null
            if (outcome) this.#commit(outcome)
          },
        }
      },
    )
    this.#indexer = new DagIndexer({
      read: (keys) => this.#readMany(keys),
      hasher: opts.hasher,
      verify: opts.verify,
      isLocal: opts.isLocal,
      changes: 0,
    })
  }

  get #level(): LevelDb {
    return this.#db.level
  }

  /** Loads the committed state (at open, before the view is installed). */
  async load(): Promise<void> {
    const last = (await this.#level.keys({ ...CHANGES_RANGE, reverse: true, limit: 1 }).all()) as string[]
    this.changes = last.length > 0 ? fromLexHex(last[0].slice(2)) : 0
    this.#indexer.changes = this.changes
    for (const key of (await this.#level.keys(HEADS_RANGE).all()) as string[])
      this.heads.add(hashOfHeadKey(key))
    const pending = (await this.#level.iterator(PENDING_RANGE).all()) as [string, Buffer][]
    await this.#indexer.loadPending(pending.map(([id, bytes]) => ({ id, bytes })))
    // Whoever subscribed before the state was loaded (change indexes) sees the loaded changes.
    for (const listener of this.#listeners) guarded(listener)
  }

  /** Resolves with the node once `hash` is visible (or found to be a visible duplicate). */
  whenVisible(hash: NodeHash, encoding: HyperlogValueEncoding): Promise<KnownNode> {
    return new Promise((resolve, reject) => {
      const list = this.#waiters.get(hash)
      if (list) list.push({ encoding, resolve, reject })
      else this.#waiters.set(hash, [{ encoding, resolve, reject }])
    })
  }

  /** Rejects every waiter (the view failed or the log closed). */
  failWaiters(err: Error): void {
    for (const list of this.#waiters.values()) for (const w of list) w.reject(err)
    this.#waiters.clear()
  }

  /** Forgets the waiters of nodes that will not be indexed (their append failed). */
  dropWaiters(hashes: Iterable<NodeHash>, err: Error): void {
    for (const hash of hashes) {
      for (const w of this.#waiters.get(hash) ?? []) w.reject(err)
      this.#waiters.delete(hash)
    }
  }

  /** Committed records of these hashes (undefined where not visible), one round trip. */
  async readRecords(hashes: readonly string[]): Promise<(NodeRecord | undefined)[]> {
    const found = await this.#readMany(hashes.map(nodeKey))
    return found.map((bytes) => (bytes === undefined ? undefined : decodeNodeRecord(bytes)))
  }

  async readChanges(range: {
    gt: number
    lt: number
    reverse: boolean
    limit: number
  }): Promise<KnownNode[]> {
    if (range.limit <= 0 || range.lt <= range.gt + 1) return []
    const hashes = (await this.#level
      .values({
        gt: changeKey(range.gt),
        lt: range.lt === Infinity ? CHANGES_RANGE.lt : changeKey(range.lt),
        reverse: range.reverse,
        limit: range.limit,
      })
      .all()) as Buffer[]
    const keys = hashes.map((h) => h.toString() as NodeHash)
    const records = await this.readRecords(keys)
    const nodes: KnownNode[] = []
    for (let i = 0; i < keys.length; i++) {
      const record = records[i]
      if (record) nodes.push({ hash: keys[i], record })
    }
    return nodes
  }

  onCommit(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #readMany(keys: string[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([])
    return this.#level.getMany(keys) as Promise<(Buffer | undefined)[]>
  }

  #commit(outcome: BatchOutcome): void {
    this.changes = outcome.changes
    for (const { hash, record } of outcome.visible) {
      for (const link of record.entry.links) this.heads.delete(link)
      this.heads.add(hash)
    }
    this.verifyFailures += outcome.rejected.length
    // Listeners are application code: their exceptions must not fail the view.
    guarded(() => this.#onCommit(outcome, (hash) => this.#waiters.get(hash)?.[0]?.encoding))
    for (const node of [...outcome.visible, ...outcome.duplicates]) {
      const list = this.#waiters.get(node.hash)
      if (!list) continue
      this.#waiters.delete(node.hash)
      for (const w of list) w.resolve(node)
    }
    for (const listener of this.#listeners) guarded(listener)
  }
}

/** Runs `fn`; an exception surfaces as an uncaught exception of the caller's code, not ours. */
function guarded(fn: () => void): void {
  try {
    fn()
  } catch (err) {
    process.nextTick(() => {
      throw err
    })
  }
}
