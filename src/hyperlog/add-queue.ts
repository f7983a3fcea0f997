/**
 * Local writes (`add`, `batch`, `append`), committed in groups. Every request that arrives while a
 * group is in flight joins the next group; holding the DAG lock, a group is checked against the
 * committed DAG index plus the group's own earlier nodes (so concurrent `append`s link to each
 * other, as sequential ones would), then indexed at once: its index records, the in-line change
 * indexes' writes and an outbox record of its entries commit in ONE level batch, and the requests
 * resolve then. The outbox (outbox.ts) appends the entries to the feed in the background. A
 * request is all or nothing: a missing link or a failing `sign` rejects that request alone, and
 * nothing of it is written.
 */
import { KappaError } from '../errors.js'
import { checkEntrySize } from '../feeds/limits.js'
import type { Feed, FeedKey } from '../feeds/types.js'
import type { BatchOutcome, KnownNode } from './dag-indexer.js'
import type { DagView } from './dag-view.js'
import type { NodeHasher } from './hash.js'
import { decodeNodeRecord, encodeEntry, type NodeEntry, type NodeRecord } from './messages.js'
import { nodeSeq } from './node.js'
import type {
  BatchProof,
  HyperlogNode,
  HyperlogValueEncoding,
  NodeHash,
  SignFunction,
  SignableNode,
} from './types.js'

/** The node `'preadd'` reports: not stored yet, value still encoded; `key` null until hashed. */
export interface PreaddNode {
  key: NodeHash | null
  links: NodeHash[]
  value: Buffer
  log: FeedKey | null
  identity: Buffer | null
  signature: Buffer | null
}

export interface DocInput {
  links: NodeHash[]
  value: Buffer
  identity: Buffer | null
  signature: Buffer | null
  /** An anchor (anchors.ts): another writer's node, copied verbatim and never shown. */
  anchor?: true
  pre: PreaddNode
}

interface BaseRequest {
  encoding: HyperlogValueEncoding
  resolve: (nodes: HyperlogNode<unknown>[]) => void
  reject: (err: Error) => void
}

export interface DocsRequest extends BaseRequest {
  kind: 'docs'
  docs: DocInput[]
  /** The batch's `proof` option (see BatchProof): used when the DAG is still at its `asOf`. */
  proof?: BatchProof
  /** The log's own anchors (anchors.ts): no events, not a user's write. */
  anchors?: true
}

/** `append`: the links are the heads when its group runs. */
export interface AppendRequest extends BaseRequest {
  kind: 'append'
  doc: Omit<DocInput, 'links'>
  /** `'preadd'` fires once the links are known, in the group. */
  announced?: boolean
}

export type AddRequest = DocsRequest | AppendRequest

export interface AddQueueDeps {
  dag: DagView
  hasher: NodeHasher
  /** The local writer, once open. */
  writer: () => Promise<Feed<Buffer>>
  sign: SignFunction | undefined
  toNode: (node: KnownNode, encoding: HyperlogValueEncoding) => HyperlogNode<unknown>
  emitPreadd: (node: PreaddNode) => void
  emitAdd: (node: HyperlogNode<unknown>) => void
  emitReject: (node: PreaddNode) => void
}

/** A node of the group: already visible (`existing`), or new (`entry`, appended by the group). */
interface Planned {
  hash: NodeHash
  existing?: KnownNode
  entry?: NodeEntry
  /** A new node's `'add'` went out with the commit: a repeat of it in the group is announced apart. */
  announced?: boolean
  /** A new node: the value encoding of the request that added it. */
  encoding?: HyperlogValueEncoding
  /** A new node: its feed entry, encoded (and its size checked) once it is signed. */
  bytes?: Buffer
}

interface Outcome {
  request: AddRequest
  planned: Planned[]
}

export class AddQueue {
  readonly #deps: AddQueueDeps
  #queue: AddRequest[] = []
  #running: Promise<void> | null = null
  /** The local writer, once the first group has awaited it (it never changes). */
  #writer: Feed<Buffer> | null = null

  constructor(deps: AddQueueDeps) {
    this.#deps = deps
  }

  /** Resolves once every queued request is settled. */
  get idle(): Promise<void> {
    return this.#running ?? Promise.resolve()
  }

  push(request: AddRequest): void {
    this.#queue.push(request)
    if (!this.#running) this.#running = this.#drain()
  }

  async #drain(): Promise<void> {
    // Let the requests issued in the same tick join the first group.
    await Promise.resolve()
    while (this.#queue.length > 0) {
      const group = this.#queue
      this.#queue = []
      try {
        await this.#runGroup(group)
      } catch (err) {
        for (const request of group) this.#fail(request, err)
      }
    }
    this.#running = null
  }

  async #runGroup(group: AddRequest[]): Promise<void> {
    const deps = this.#deps
    const writer = this.#writer ?? (this.#writer = await deps.writer())

    // Hash every doc whose links are known now (outside the lock: hashing needs no index). Docs
    // hashed at submit time (a synchronous hash) need nothing here: no promise per doc.
    const failed = new Map<AddRequest, unknown>()
    let hashing: Promise<void>[] | null = null
    for (const request of group) {
      if (request.kind !== 'docs') continue
      for (const doc of request.docs) {
        if (doc.pre.key === null) (hashing ??= []).push(this.#hashDoc(request, doc, failed))
      }
    }
    if (hashing) await Promise.all(hashing)

    // Taken at once when free (no promise, no microtask hop for an uncontended write), released here.
    const release = deps.dag.lock.tryAcquire() ?? (await deps.dag.lock.acquire())
    let outcomes: Outcome[]
    try {
      deps.dag.assertUsable()
      outcomes = await this.#commitGroup(group, writer, failed)
    } finally {
      release()
    }

    // The commit announced each new node ('add', in change order); the other results (nodes
    // already there, repeats) are announced here, so #preadd = #add + #reject — but for hidden
    // ones, which are never announced (as a view batch announces none).
    for (const { request, planned } of outcomes) {
      let nodes: HyperlogNode<unknown>[]
      try {
        nodes = planned.map((p) => deps.toNode(p.existing!, request.encoding))
      } catch (err) {
        this.#fail(request, err)
        continue
      }
      planned.forEach((p, i) => {
        if (p.entry && !p.announced) p.announced = true
        else if (!deps.dag.isHidden(p.existing!.record)) deps.emitAdd(nodes[i])
      })
      request.resolve(nodes)
    }
  }

  /**
   * Holding the DAG lock: checks the group's requests against the committed index plus the
   * group's earlier nodes, signs the new ones (their seqs are known: we are the only writer of
   * our feed), and commits them in-line (index, outbox, in-line indexes: one level batch).
   */
  async #commitGroup(
    group: AddRequest[],
    writer: Feed<Buffer>,
    failed: Map<AddRequest, unknown>,
  ): Promise<Outcome[]> {
    const deps = this.#deps
    const dag = deps.dag
    // One read for every hash and link of the group, but those of docs proven new and linking
    // visible nodes (the DAG has not moved since the proof was made: nothing committed meanwhile).
    const lookup = new Set<NodeHash>()
    const provenLinks = new Set<NodeHash>()
    // A proof says no visible node is the doc; a hidden one may be (a register never holds it):
    // while any node is hidden, the docs' own hashes are read all the same.
    const hidesAny = dag.hidesAny
    /** The proofs that hold: handed to the in-line indexes with the group's nodes. */
    const proofs: BatchProof[] = []
    for (const request of group) {
      if (request.kind !== 'docs') continue
      const holds = request.proof?.asOf === dag.commits.changes
      if (holds) proofs.push(request.proof!)
      const proven = holds ? request.proof!.proven : null
      request.docs.forEach((doc, i) => {
        if (proven?.[i]) {
          for (const link of doc.links) provenLinks.add(link)
          if (hidesAny && doc.pre.key !== null) lookup.add(doc.pre.key)
          return
        }
        for (const link of doc.links) lookup.add(link)
        if (doc.pre.key !== null) lookup.add(doc.pre.key)
      })
    }
    const committed =
      lookup.size > 0 ? await dag.indexer.readCommitted([...lookup]) : new Map<NodeHash, Buffer>()
    let visible: Map<NodeHash, NodeRecord> | null = null
    const recordOf = (hash: NodeHash): NodeRecord | undefined => {
      const bytes = committed.get(hash)
      if (bytes === undefined) return undefined
      let record = (visible ??= new Map()).get(hash)
      if (!record) visible.set(hash, (record = decodeNodeRecord(bytes)))
      return record
    }

    /** The group's new nodes by hash (a request's own join as it goes; taken out if it fails). */
    const fresh = new Map<NodeHash, Planned>()
    const freshOrder: Planned[] = []
    let heads: Set<NodeHash> | null = null
    // The seqs the group's entries will have (holding the lock: no other group reserves meanwhile).
    const seqBase = writer.reservedLength
    const outcomes: Outcome[] = []

    for (const request of group) {
      if (failed.has(request)) {
        this.#fail(request, failed.get(request))
        continue
      }
      const own: Planned[] = []
      try {
        const planned: Planned[] = []
        const docs: DocInput[] =
          request.kind === 'docs'
            ? request.docs
            : [{ ...request.doc, links: sortedHeads((heads ??= new Set(dag.commits.heads))) }]
        for (const doc of docs) {
          if (request.kind === 'append') {
            doc.pre.links = doc.links
            doc.pre.key = await deps.hasher.hash(doc.links, doc.value)
            request.announced = true
            deps.emitPreadd(doc.pre)
            // No visible node links the heads; a hidden one may, and be this very node.
            if (hidesAny) {
              const found = await dag.indexer.readCommitted([doc.pre.key])
              for (const [hash, bytes] of found) committed.set(hash, bytes)
            }
          }
          const hash = doc.pre.key as NodeHash
          // An append's links are heads: visible (or new in this group) by definition.
          for (const link of request.kind === 'docs' ? doc.links : []) {
            if (!committed.has(link) && !fresh.has(link) && !provenLinks.has(link)) {
              throw KappaError.notFound(`link not found: ${link}`)
            }
          }
          const known = fresh.get(hash)
          const record = known ? undefined : recordOf(hash)
          if (known) planned.push(known)
          else if (record && !this.#hiddenElsewhere(record, writer))
            planned.push({ hash, existing: { hash, record } })
          else {
            // The doc is the entry (its fields are NodeEntry's): no copy per node.
            const node: Planned = { hash, entry: doc, encoding: request.encoding }
            fresh.set(hash, node)
            own.push(node)
            planned.push(node)
          }
        }
        if (deps.sign) await this.#sign(own, writer.id, seqBase + freshOrder.length)
        // The whole entry (links, value, identity, signature) must fit: else this request fails alone.
        for (const node of own) {
          node.bytes = encodeEntry(node.entry!)
          checkEntrySize(node.bytes.byteLength, 'a node entry')
        }
        for (const node of own) {
          freshOrder.push(node)
          if (heads) {
            for (const link of node.entry!.links) heads.delete(link)
            heads.add(node.hash)
          }
        }
        outcomes.push({ request, planned })
      } catch (err) {
        for (const node of own) fresh.delete(node.hash)
        this.#fail(request, err)
      }
    }
    if (freshOrder.length === 0) return outcomes

    const entries = freshOrder.map((node) => node.bytes!)
    const candidates: KnownNode[] = freshOrder.map((node, i) => ({
      hash: node.hash,
      record: {
        feed: writer.id,
        seq: seqBase + i,
        change: 0,
        entry: node.entry!,
        entryBytes: entries[i],
      },
      local: node.encoding,
    }))
    writer.reserve(entries.length)
    let outcome: BatchOutcome
    try {
      const heads = dag.commits.heads
      outcome = await dag.commitLocal(
        candidates,
        committed,
        (hash) => heads.has(hash) || provenLinks.has(hash),
        seqBase,
        entries,
        proofs,
      )
    } catch (err) {
      // Nothing was committed (a storage fault, say): the next group takes the same seqs.
      writer.unreserve(seqBase)
      throw err
    }
    // A candidate made visible is the node; one the index found elsewhere (a duplicate) is that.
    let byHash: Map<NodeHash, KnownNode> | null = null
    freshOrder.forEach((node, i) => {
      const candidate = candidates[i]!
      if (candidate.record.change > 0) node.existing = candidate
      else {
        byHash ??= new Map([...outcome.visible, ...outcome.duplicates].map((n) => [n.hash, n]))
        const existing = byHash.get(node.hash)
        // Hidden through another writer's copy, and shown through ours since (the commit's recount).
        node.existing =
          existing && dag.isHidden(existing.record) && !dag.isHidden(candidate.record)
            ? { hash: node.hash, record: { ...candidate.record, change: existing.record.change } }
            : existing
      }
    })
    return outcomes
  }

  /**
   * A committed node hidden through another writer's entry: this store writes its own copy, which
   * may count where that one does not (the node then shows through it).
   */
  #hiddenElsewhere(record: NodeRecord, writer: Feed<Buffer>): boolean {
    return record.feed !== writer.id && this.#deps.dag.isHidden(record)
  }

  async #hashDoc(request: AddRequest, doc: DocInput, failed: Map<AddRequest, unknown>): Promise<void> {
    try {
      doc.pre.key = await this.#deps.hasher.hash(doc.links, doc.value)
    } catch (err) {
      if (!failed.has(request)) failed.set(request, err)
    }
  }

  /** Signs new local nodes with the `sign` hook (seq as it will be, 1-based). */
  async #sign(nodes: Planned[], log: FeedKey, seqBase: number): Promise<void> {
    const sign = this.#deps.sign
    if (!sign) return
    let seq = seqBase
    for (const node of nodes) {
      const entry = node.entry!
      const entrySeq = seq++
      // An anchor carries its author's identity and signature as they were.
      if (entry.signature || entry.anchor) continue
      const signable: SignableNode = {
        key: node.hash,
        links: entry.links,
        value: entry.value,
        log,
        seq: nodeSeq(entrySeq),
        identity: entry.identity,
        signature: null,
      }
      entry.signature = await new Promise<Buffer>((resolve, reject) => {
        sign(signable, (err, signature) => {
          if (err) reject(err)
          else if (!(signature instanceof Uint8Array))
            reject(KappaError.invalid('sign must call back with bytes'))
          else resolve(Buffer.from(signature))
        })
      })
    }
  }

  #fail(request: AddRequest, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err))
    const pres =
      request.kind === 'docs'
        ? request.anchors
          ? []
          : request.docs.map((d) => d.pre)
        : request.announced
          ? [request.doc.pre]
          : []
    for (const pre of pres) this.#deps.emitReject(pre)
    request.reject(error)
  }
}

/** hyperlog's heads come in key order. */
function sortedHeads(heads: Set<NodeHash>): NodeHash[] {
  return [...heads].sort()
}
