/**
 * The heart of the DAG view: turns a batch of feed entries into the writes of the DAG index.
 *
 * Per entry: decode (not a hyperlog entry → skipped), hash, then
 *   - a node with that hash is visible or waiting already → duplicate, nothing written;
 *   - a replicated node failing `verify` → rejected, never visible;
 *   - every link visible → the node becomes visible: next change number, node record, change key,
 *     heads (self in, links out); then every waiting node whose last missing link it was becomes
 *     visible too, recursively, in the same batch;
 *   - else it waits (pending.ts: on disk) until its missing links are visible.
 * Reads: one `getMany` per batch (the hashes and links of the batch, and whether they wait or are
 * waited for when any node waits); releasing waiting nodes reads what they need.
 */
import type { FeedKey } from '../feeds/types.js'
import type { NodeHasher } from './hash.js'
import {
  changeKey,
  copyKey,
  decodeEntry,
  encodeChangeRun,
  decodeNodeRecord,
  encodeNodeRecord,
  headKey,
  markerKey,
  nodeKey,
  waitingKey,
  type NodeRecord,
} from './messages.js'
import { toSignable } from './node.js'
import { WaitingBatch, type ReadRange } from './pending.js'
import type { HyperlogNode, HyperlogValueEncoding, NodeHash, SignableNode } from './types.js'

export type DagOp = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }

export interface DagEntry {
  key: FeedKey
  seq: number
  value: unknown
}

export interface KnownNode {
  hash: NodeHash
  record: NodeRecord
  /**
   * The user-facing node made of this one, kept so that a new node's in-line indexes, its `'add'`
   * event and the write that added it share one decoded value (node.ts `sharedNode`).
   */
  shared?: { encoding: HyperlogValueEncoding; node: HyperlogNode<unknown> }
  /** The value the replicated-value check decoded (node.ts `valueDecodes`), until `sharedNode` takes it. */
  decoded?: { encoding: HyperlogValueEncoding; value: unknown }
  /** A node a local write added: that write's value encoding (its `'preadd'` went out already). */
  local?: HyperlogValueEncoding
  /** Read from a change range: the node is hidden (its entry does not count), readers skip it. */
  hidden?: true
}

/** Whether a node's entry is excluded (it resolves as a link, but is hidden). */
export type IsHidden = (record: NodeRecord) => boolean

/** What a batch did, applied to the in-memory state and announced once the batch is committed. */
export interface BatchOutcome {
  /** Nodes first seen (not duplicates) and not rejected, in feed order: `'preadd'`. */
  arrived: KnownNode[]
  /** Nodes that became visible, in change order: `'add'`. Hidden ones resolve as links but are not here. */
  visible: KnownNode[]
  /** Entries that were already visible nodes: the existing node. */
  duplicates: KnownNode[]
  /** Replicated nodes that failed `verify`, or whose value does not decode: `'reject'`. */
  rejected: KnownNode[]
  /** How many of `rejected` were refused because their value does not decode (a protocol error). */
  malformed?: number
  /** The largest change number after this batch. */
  changes: number
  /** A node hidden through its own copy got another copy that counts: a recount shows it. */
  rehome?: true
  /** An anchor was indexed (as a node or a copy). */
  anchored?: true
}

export interface Counters {
  changes: number
  waiting: number
}

/** Reads committed records of the DAG index, one round trip for many keys. */
export type ReadMany = (keys: string[]) => Promise<(Buffer | undefined)[]>

/** Checks a replicated node; resolves false (or rejects) when it must be refused. */
export type VerifyNode = (node: SignableNode) => Promise<boolean>

/** Whether a replicated node's value decodes with the log's value encoding. */
export type ValueDecodes = (node: KnownNode) => boolean

export interface Candidate {
  hash: NodeHash
  record: NodeRecord
}

export class DagIndexer {
  /** The largest change number assigned so far (ahead of readers until the batch commits). */
  changes: number
  /** How many nodes wait for links (committed; a batch's own count is its `WaitingBatch`'s). */
  waiting = 0

  readonly #read: ReadMany
  readonly #range: ReadRange
  readonly #hasher: NodeHasher
  readonly #verify: VerifyNode | undefined
  readonly #decodes: ValueDecodes | undefined
  readonly #isLocal: (feed: FeedKey) => boolean
  /**
   * The `process` transforms of the replications under way: every new replicated node passes
   * through each, in order, before it can be indexed; one that does not pass it on refuses it.
   */
  readonly processors = new Set<VerifyNode>()

  constructor(opts: {
    read: ReadMany
    range: ReadRange
    hasher: NodeHasher
    verify?: VerifyNode
    /** A replicated node whose value does not decode is refused like one failing `verify`. */
    decodes?: ValueDecodes
    isLocal: (feed: FeedKey) => boolean
    changes: number
  }) {
    this.#read = opts.read
    this.#range = opts.range
    this.#hasher = opts.hasher
    this.#verify = opts.verify
    this.#decodes = opts.decodes
    this.#isLocal = opts.isLocal
    this.changes = opts.changes
  }

  /** The counters a batch moves, to put back when its commit fails. */
  counters(): Counters {
    return { changes: this.changes, waiting: this.waiting }
  }

  restore(counters: Counters): void {
    this.changes = counters.changes
    this.waiting = counters.waiting
  }

  /**
   * `hidden`: which of the nodes made visible are hidden (their entries do not count). `due`
   * collects the hidden nodes the batch's visible ones link (anchors.ts).
   */
  async map(
    entries: DagEntry[],
    hidden?: IsHidden,
    due?: Set<NodeHash>,
  ): Promise<{ ops: DagOp[]; outcome: BatchOutcome }> {
    const candidates = this.#decode(entries)
    const hashes = await this.#hashAll(candidates.map((c) => c.record))
    const batch: Candidate[] = candidates.map((c, i) => ({ hash: hashes[i], record: c.record }))

    // One read for every hash and link of the batch: which of them are visible already — and,
    // when nodes wait, which of the batch's nodes wait already or are waited for.
    const lookup = [...new Set(batch.flatMap((c) => [c.hash, ...c.record.entry.links]))]
    const waitKeys = this.waiting > 0 ? batch.flatMap((c) => [waitingKey(c.hash), markerKey(c.hash)]) : []
    const found = await this.#read([...lookup.map(nodeKey), ...waitKeys])
    const committed = new Map<NodeHash, Buffer>()
    for (let i = 0; i < lookup.length; i++) {
      const bytes = found[i]
      if (bytes !== undefined) committed.set(lookup[i], bytes)
    }
    const known = waitKeys.length > 0 ? waitingFound(batch, found, lookup.length) : undefined
    const malformed = new Set<number>()
    const verdicts = await this.#verifyAll(batch, committed, known?.waiting, malformed)
    return this.#index(batch, committed, verdicts, undefined, malformed, known, hidden, due)
  }

  /**
   * A group of local nodes, hashed and checked by the add queue (every link visible or earlier in
   * the group): the same writes a view batch of them would make. `committed` holds the committed
   * records the group read (its hashes and links). A local node never waits (its links are
   * visible), but may be what waiting nodes wait for. `hidden`, `due`: as for a view batch.
   */
  async indexLocal(
    batch: Candidate[],
    committed: Map<NodeHash, Buffer>,
    visible: (hash: NodeHash) => boolean,
    hidden?: IsHidden,
    due?: Set<NodeHash>,
  ): Promise<{ ops: DagOp[]; outcome: BatchOutcome }> {
    let known: WaitingFound | undefined
    if (this.waiting > 0) {
      const found = await this.#read(batch.flatMap((c) => [waitingKey(c.hash), markerKey(c.hash)]))
      known = waitingFound(batch, found, 0)
    }
    return this.#index(
      batch,
      committed,
      batch.map(() => true),
      visible,
      undefined,
      known,
      hidden,
      due,
    )
  }

  /** Committed records of these hashes (raw bytes), one read. */
  async readCommitted(hashes: NodeHash[]): Promise<Map<NodeHash, Buffer>> {
    const found = await this.#read(hashes.map(nodeKey))
    const committed = new Map<NodeHash, Buffer>()
    for (let i = 0; i < hashes.length; i++) {
      const bytes = found[i]
      if (bytes !== undefined) committed.set(hashes[i], bytes)
    }
    return committed
  }

  async #index(
    batch: Candidate[],
    committed: Map<NodeHash, Buffer>,
    verdicts: boolean[],
    /** Nodes known to be visible without a read (an append's links: the committed heads). */
    visible: (hash: NodeHash) => boolean = () => false,
    /** Indexes of `batch` refused because their value does not decode. */
    malformed?: Set<number>,
    /** What the batch's first read found of the waiting nodes (undefined: none waited). */
    known?: WaitingFound,
    /** Nodes that resolve as links but are never shown: no head, not in `outcome.visible`. */
    hidden?: IsHidden,
    /** Collects the hidden nodes that visible nodes of the batch link. */
    due?: Set<NodeHash>,
  ): Promise<{ ops: DagOp[]; outcome: BatchOutcome }> {
    const ops: DagOp[] = []
    const outcome: BatchOutcome = {
      arrived: [],
      visible: [],
      duplicates: [],
      rejected: [],
      changes: this.changes,
    }
    const visibleNow = new Map<NodeHash, KnownNode>()
    const seenNow = new Set<NodeHash>()
    const isVisible = (hash: NodeHash) => committed.has(hash) || visibleNow.has(hash) || visible(hash)
    const waiting = new WaitingBatch({
      committed: this.waiting,
      read: this.#read,
      range: this.#range,
      ops,
      found: known,
    })
    let changes = this.changes
    /** Every node this batch makes resolvable, hidden ones included, in change order. */
    const ordered: NodeHash[] = []

    const show = (node: KnownNode) => {
      const { hash, record } = node
      record.change = ++changes
      ops.push({
        type: 'put',
        key: nodeKey(hash),
        value: encodeNodeRecord(record.feed, record.seq, record.change, record.entryBytes),
      })
      visibleNow.set(hash, node)
      ordered.push(hash)
      if (record.entry.anchor) outcome.anchored = true
      // A hidden node is as if never written, but for resolving links: no head, and its links keep theirs.
      if (hidden?.(record)) return
      if (due) {
        for (const link of record.entry.links) {
          const bytes = visibleNow.has(link) ? undefined : committed.get(link)
          const linked = visibleNow.get(link)?.record ?? (bytes && decodeNodeRecord(bytes))
          if (linked && hidden!(linked)) due.add(link)
        }
      }
      for (const link of record.entry.links) ops.push({ type: 'del', key: headKey(link) })
      ops.push({ type: 'put', key: headKey(hash), value: HEAD_MARK })
      outcome.visible.push(node)
    }
    // Visible, then every node waiting for it (and for nothing else), worklist order.
    const showAndRelease = async (first: KnownNode) => {
      const queue: KnownNode[] = [first]
      for (let node = queue.shift(); node; node = queue.shift()) {
        show(node)
        if (!waiting.mayRelease(node.hash)) continue
        for (const released of await waiting.release(node.hash, isVisible)) queue.push(released)
      }
    }

    for (let i = 0; i < batch.length; i++) {
      const node = batch[i]
      const existing = committed.get(node.hash)
      if (existing !== undefined) {
        const record = decodeNodeRecord(existing)
        outcome.duplicates.push({ hash: node.hash, record })
        // Another writer's entry of the same node: kept, for the node to show through it when
        // its own copy does not count (now, or after a later removal). So is a writer's own
        // entry of a node it anchored before.
        const other = record.feed !== node.record.feed || (record.entry.anchor && !node.record.entry.anchor)
        if (other && verdicts[i]) {
          const copy = node.record
          if (copy.entry.anchor) outcome.anchored = true
          ops.push({
            type: 'put',
            key: copyKey(node.hash, copy.feed),
            value: encodeNodeRecord(copy.feed, copy.seq, 0, copy.entryBytes),
          })
          if (hidden?.(record) && !hidden(copy)) outcome.rehome = true
        }
        continue
      }
      // Released earlier in this batch (it waited for a node of the batch): the same node again.
      const released = visibleNow.get(node.hash)
      if (released) {
        outcome.duplicates.push(released)
        continue
      }
      if (seenNow.has(node.hash) || waiting.has(node.hash)) continue
      if (!verdicts[i]) {
        outcome.rejected.push(node)
        if (malformed?.has(i)) outcome.malformed = (outcome.malformed ?? 0) + 1
        continue
      }
      seenNow.add(node.hash)
      outcome.arrived.push(node)
      const missing = missingLinks(node.record.entry.links, isVisible)
      // Nothing waits (the usual case, every local write): no promise per node.
      if (missing === null) {
        if (waiting.mayRelease(node.hash)) await showAndRelease(node)
        else show(node)
      } else waiting.add(node.hash, node.record, missing)
    }

    // The batch's changes are consecutive: one change run holds their hashes, in change order.
    if (ordered.length > 0) {
      ops.push({ type: 'put', key: changeKey(outcome.changes + 1), value: encodeChangeRun(ordered) })
    }
    const countOp = waiting.countOp()
    if (countOp) ops.push(countOp)
    // The counters move once the batch is computed; the caller commits it or `rollBack`s.
    this.changes = changes
    this.waiting = waiting.count
    outcome.changes = changes
    return { ops, outcome }
  }

  #decode(entries: DagEntry[]): { record: NodeRecord }[] {
    const out: { record: NodeRecord }[] = []
    for (const e of entries) {
      const entry = decodeEntry(e.value)
      if (!entry) continue
      const entryBytes = e.value as Buffer
      out.push({
        record: {
          feed: e.key,
          seq: e.seq,
          change: 0,
          entry,
          entryBytes: Buffer.isBuffer(entryBytes) ? entryBytes : Buffer.from(entryBytes),
        },
      })
    }
    return out
  }

  #hashAll(records: NodeRecord[]): Promise<NodeHash[]> {
    if (this.#hasher.synchronous) {
      try {
        return Promise.resolve(records.map((r) => this.#hasher.hashSync(r.entry.links, r.entry.value)))
      } catch (err) {
        return Promise.reject(err as Error)
      }
    }
    return Promise.all(records.map((r) => this.#hasher.hash(r.entry.links, r.entry.value)))
  }

  /** A replicated entry of a committed node written by another feed than the node's record. */
  #isCopy(candidate: Candidate, committed: Map<NodeHash, Buffer>): boolean {
    const bytes = committed.get(candidate.hash)
    if (bytes === undefined || this.#isLocal(candidate.record.feed)) return false
    return decodeNodeRecord(bytes).feed !== candidate.record.feed
  }

  /**
   * The value check, `verify`, then the `process` transforms, for each replicated node that is
   * new; true for the rest (but `verify` also checks another writer's copy of a committed node).
   * A node whose value does not decode joins `malformed`.
   */
  async #verifyAll(
    batch: Candidate[],
    committed: Map<NodeHash, Buffer>,
    waiting: ReadonlySet<NodeHash> | undefined,
    malformed: Set<number>,
  ): Promise<boolean[]> {
    const verify = this.#verify
    const decodes = this.#decodes
    if (!verify && !decodes && this.processors.size === 0) return batch.map(() => true)
    const isNew = batch.map(
      (c) => !committed.has(c.hash) && !waiting?.has(c.hash) && !this.#isLocal(c.record.feed),
    )
    // A peer's bytes: refused before any hook or index sees them (bad input changes nothing).
    if (decodes) {
      for (let i = 0; i < batch.length; i++) {
        if (isNew[i] && !decodes(batch[i])) {
          isNew[i] = false
          malformed.add(i)
        }
      }
    }
    const verdicts = await Promise.all(
      batch.map(async (c, i) => {
        if (malformed.has(i)) return false
        if (!verify) return true
        // An anchor is never shown, and carries its author's signature for another log and seq.
        if (c.record.entry.anchor) return true
        // Another writer's copy of a visible node is checked too: the node may show through it.
        if (!isNew[i] && !this.#isCopy(batch[i], committed)) return true
        try {
          return await verify(toSignable(c.hash, c.record))
        } catch {
          return false
        }
      }),
    )
    // In batch order, one node at a time: a transform sees the nodes in the order they arrived.
    for (let i = 0; i < batch.length && this.processors.size > 0; i++) {
      if (!isNew[i] || !verdicts[i] || batch[i].record.entry.anchor) continue
      for (const processor of this.processors) {
        if (!(await processor(toSignable(batch[i].hash, batch[i].record)))) {
          verdicts[i] = false
          break
        }
      }
    }
    return verdicts
  }
}

/** What a batch's first read found of the waiting nodes, for the batch's own hashes. */
type WaitingFound = NonNullable<ConstructorParameters<typeof WaitingBatch>[0]['found']>

/** `found[from…]` holds `w!`, `m!` of each node of `batch` in turn. */
function waitingFound(batch: Candidate[], found: (Buffer | undefined)[], from: number): WaitingFound {
  const waiting = new Set<NodeHash>()
  const waitedFor = new Set<NodeHash>()
  const checked = new Set<NodeHash>()
  batch.forEach((c, i) => {
    checked.add(c.hash)
    if (found[from + 2 * i] !== undefined) waiting.add(c.hash)
    if (found[from + 2 * i + 1] !== undefined) waitedFor.add(c.hash)
  })
  return { waiting, waitedFor, checked }
}

/** The links not visible yet, or null when every one is (most nodes: no Set for them). */
function missingLinks(
  links: readonly NodeHash[],
  isVisible: (hash: NodeHash) => boolean,
): Set<NodeHash> | null {
  let missing: Set<NodeHash> | null = null
  for (const link of links) if (!isVisible(link)) (missing ??= new Set()).add(link)
  return missing
}

/** The value of a head key: nothing (one shared empty buffer, LevelDB copies what it stores). */
const HEAD_MARK = Buffer.alloc(0)
