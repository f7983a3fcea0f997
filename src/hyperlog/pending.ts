/**
 * Nodes that arrived before some of their links (a replica indexes logs in whatever order they
 * arrive). They wait on disk only — `w!<hash>` holds the node, `m!<link>!<hash>` says which link
 * it waits for, `m!<link>` that some node does, `W` how many wait (messages.ts) — so an open
 * loads nothing and waiting costs no memory: a node that becomes visible finds the nodes waiting
 * for it with one point read (and a range read when there are any). Those whose last missing
 * link it was become visible in the same batch, so change order stays topological.
 *
 * This class is the batch-time view of that state: what a DAG batch reads (committed records)
 * plus what it has staged so far (nodes that began waiting or were released in the batch).
 */
import type { DagOp, ReadMany } from './dag-indexer.js'
import {
  decodeNodeRecord,
  encodeUintRecord,
  encodeNodeRecord,
  markerKey,
  memberKey,
  membersRange,
  waitingKey,
  WAITING_COUNT_KEY,
  type NodeRecord,
} from './messages.js'
import type { NodeHash } from './types.js'

/** Reads the keys and values of a range of the DAG index. */
export type ReadRange = (range: { gt: string; lt: string }) => Promise<[string, Buffer][]>

/** A node waiting since this batch (its keys are staged, not committed). */
interface StagedWaiting {
  hash: NodeHash
  record: NodeRecord
  missing: Set<NodeHash>
}

/** The waiting nodes' state during one DAG batch. */
export class WaitingBatch {
  /** Waiting nodes after this batch (committed ones, plus those staged, minus those released). */
  count: number
  readonly #committed: number
  readonly #read: ReadMany
  readonly #range: ReadRange
  readonly #ops: DagOp[]
  /** Hashes the batch's first read found waiting (`w!`) / waited for (`m!`). */
  readonly #waiting: ReadonlySet<NodeHash>
  readonly #waitedFor: ReadonlySet<NodeHash> | null
  /** Hashes whose `m!` marker that read covered (the batch's own hashes). */
  readonly #checked: ReadonlySet<NodeHash>
  readonly #staged = new Map<NodeHash, StagedWaiting>()
  readonly #stagedFor = new Map<NodeHash, StagedWaiting[]>()

  constructor(opts: {
    committed: number
    read: ReadMany
    range: ReadRange
    ops: DagOp[]
    /** What the batch's first read found (none when nothing waited before the batch). */
    found?: {
      waiting: ReadonlySet<NodeHash>
      waitedFor: ReadonlySet<NodeHash>
      checked: ReadonlySet<NodeHash>
    }
  }) {
    this.count = this.#committed = opts.committed
    this.#read = opts.read
    this.#range = opts.range
    this.#ops = opts.ops
    this.#waiting = opts.found?.waiting ?? NONE
    this.#waitedFor = opts.found?.waitedFor ?? null
    this.#checked = opts.found?.checked ?? NONE
  }

  /** Whether a node with this hash waits already (committed, or since this batch). */
  has(hash: NodeHash): boolean {
    return this.#staged.has(hash) || this.#waiting.has(hash)
  }

  /** Stages a node waiting for `missing` (links not visible yet). */
  add(hash: NodeHash, record: NodeRecord, missing: Set<NodeHash>): void {
    const node: StagedWaiting = { hash, record, missing }
    this.#staged.set(hash, node)
    this.count++
    this.#ops.push({
      type: 'put',
      key: waitingKey(hash),
      value: encodeNodeRecord(record.feed, record.seq, 0, record.entryBytes),
    })
    for (const link of missing) {
      this.#ops.push({ type: 'put', key: markerKey(link), value: EMPTY })
      this.#ops.push({ type: 'put', key: memberKey(link, hash), value: Buffer.from(hash) })
      const list = this.#stagedFor.get(link)
      if (list) list.push(node)
      else this.#stagedFor.set(link, [node])
    }
  }

  /** Whether a node may wait for `hash`: false (no read needed) while nothing waits at all. */
  mayRelease(hash: NodeHash): boolean {
    return this.#committed > 0 || this.#stagedFor.has(hash)
  }

  /**
   * `hash` became visible: stages the removal of its waiters' `m!` keys and returns the waiting
   * nodes whose last missing link it was (removed from the waiting set, in the order they waited
   * in the batch, then in hash order). `isVisible` tells the links visible now, committed or not.
   */
  async release(
    hash: NodeHash,
    isVisible: (link: NodeHash) => boolean,
  ): Promise<{ hash: NodeHash; record: NodeRecord }[]> {
    const ready: { hash: NodeHash; record: NodeRecord }[] = []
    const staged = this.#stagedFor.get(hash)
    if (staged) {
      this.#stagedFor.delete(hash)
      for (const node of staged) {
        node.missing.delete(hash)
        if (node.missing.size === 0) this.#forget(node.hash, ready, node.record)
      }
    }
    const onDisk = this.#committed > 0 && (await this.#waitedForOnDisk(hash))
    if (!staged && !onDisk) return ready
    // The marker and every member key of `hash`: staged ones (put above) and committed ones.
    this.#ops.push({ type: 'del', key: markerKey(hash) })
    if (staged) for (const node of staged) this.#ops.push({ type: 'del', key: memberKey(hash, node.hash) })
    if (!onDisk) return ready
    const waiters: NodeHash[] = []
    for (const [key, value] of await this.#range(membersRange(hash))) {
      const waiter = value.toString() as NodeHash
      // The range of a custom hash may hold keys of other links that extend it: exact match only.
      if (key !== memberKey(hash, waiter)) continue
      this.#ops.push({ type: 'del', key })
      // Staged in this batch: its missing links are tracked above.
      if (!this.#staged.has(waiter)) waiters.push(waiter)
    }
    if (waiters.length === 0) return ready
    const stored = await this.#read(waiters.map(waitingKey))
    const records: { hash: NodeHash; record: NodeRecord }[] = []
    for (let i = 0; i < waiters.length; i++) {
      const bytes = stored[i]
      // Released earlier in this batch (through another link): not waiting any more.
      if (bytes !== undefined && !this.#released.has(waiters[i])) {
        records.push({ hash: waiters[i], record: decodeNodeRecord(bytes) })
      }
    }
    // Their other links: visible now (this batch), or committed (one read for all of them).
    const unknown = new Set<NodeHash>()
    for (const { record } of records)
      for (const link of record.entry.links) if (link !== hash && !isVisible(link)) unknown.add(link)
    const visibleLinks = new Set<NodeHash>()
    if (unknown.size > 0) {
      const links = [...unknown]
      const found = await this.#read(links.map((link) => 'n!' + link))
      links.forEach((link, i) => found[i] !== undefined && visibleLinks.add(link))
    }
    for (const { hash: waiter, record } of records) {
      const waits = record.entry.links.some(
        (link) => link !== hash && !isVisible(link) && !visibleLinks.has(link),
      )
      if (!waits) this.#forget(waiter, ready, record)
    }
    return ready
  }

  /** The count to commit with the batch, when it changed. */
  countOp(): DagOp | null {
    if (this.count === this.#committed) return null
    return this.count === 0
      ? { type: 'del', key: WAITING_COUNT_KEY }
      : { type: 'put', key: WAITING_COUNT_KEY, value: encodeUintRecord(this.count) }
  }

  readonly #released = new Set<NodeHash>()

  #forget(hash: NodeHash, ready: { hash: NodeHash; record: NodeRecord }[], record: NodeRecord): void {
    this.#staged.delete(hash)
    this.#released.add(hash)
    this.count--
    this.#ops.push({ type: 'del', key: waitingKey(hash) })
    ready.push({ hash, record })
  }

  /** Whether committed nodes wait for `hash`: from the batch's first read, else one point read. */
  async #waitedForOnDisk(hash: NodeHash): Promise<boolean> {
    if (this.#checked.has(hash)) return this.#waitedFor?.has(hash) === true
    const [marker] = await this.#read([markerKey(hash)])
    return marker !== undefined
  }
}

const NONE: ReadonlySet<NodeHash> = new Set()
const EMPTY = Buffer.alloc(0)
