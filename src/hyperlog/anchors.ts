/**
 * Anchors: in an owned log, a link to an excluded node resolves on every replica.
 *
 * An excluded node (a removed writer's at or past its `upTo`, a non-member's) is hidden but still
 * resolves as a link where it is held. A replica that learns of the removal before it holds the
 * node takes the removed writer's feed only up to `upTo` and never holds it: the visible nodes
 * linking it would wait there for good while they show everywhere else. So a member holding such
 * a node — hidden, linked by a visible node, with no entry of it that counts — appends an
 * **anchor** to its own feed: the node's entry verbatim (its links, value, identity and
 * signature), flagged so that every replica hides it. The anchor resolves the links wherever the
 * member's feed is taken and shows nothing: the node's value stays void. Anchoring a node anchors
 * the hidden nodes it links first (a node resolves once its links do).
 *
 * A DAG batch that makes anchors due marks them (`a!`) in its own commit; this loop checks each
 * (`DagView.anchorable`), writes the anchors through the add queue, then clears the marks — a
 * crash in between leaves them marked, and the run at the next open finds them anchored or anchors
 * them. A store that cannot write (not a member, or removed) clears them: other members anchor.
 * Several members may anchor one node; the copies are the same bytes, and each counts alone.
 */
import { isKappaError } from '../errors.js'
import { isProgrammerError, toError } from '../util/errors.js'
import type { DocInput } from './add-queue.js'
import type { DagView } from './dag-view.js'
import type { NodeRecord } from './messages.js'
import type { NodeHash } from './types.js'

/** Marks read per round: a removal can make many anchors due at once. */
const ANCHORS_PER_ROUND = 256

export interface AnchorsDeps {
  dag: DagView
  /** Resolves once the membership is open and folded (`canWrite` answers). */
  ready: () => Promise<void>
  /** Whether this store's appends count (a member of the owned database). */
  canWrite: () => boolean
  /** Appends the anchors as one local write. */
  write: (docs: DocInput[]) => Promise<void>
  /** A failure other than losing the right to write (the marks stay for the next run). */
  onError: (err: Error) => void
}

export class Anchors {
  readonly #deps: AnchorsDeps
  #running: Promise<void> | null = null
  #again = false
  #stopped = false

  constructor(deps: AnchorsDeps) {
    this.#deps = deps
  }

  /** Resolves once no run is under way (the marks found so far are written or cleared). */
  get idle(): Promise<void> {
    return this.#running ?? Promise.resolve()
  }

  /** Some anchors may be due: a run starts (or runs again after the current one). */
  due(): void {
    if (this.#stopped) return
    if (this.#running) {
      this.#again = true
      return
    }
    this.#running = this.#run().finally(() => {
      this.#running = null
      if (this.#again) {
        this.#again = false
        this.due()
      }
    })
  }

  /** No run starts any more (the log is closing); the one under way finishes. */
  stop(): Promise<void> {
    this.#stopped = true
    return this.idle
  }

  async #run(): Promise<void> {
    const { dag } = this.#deps
    try {
      await this.#deps.ready()
      for (;;) {
        const hashes = await dag.dueAnchors(ANCHORS_PER_ROUND)
        if (hashes.length === 0 || this.#stopped) return
        if (this.#deps.canWrite()) {
          const records = await this.#toAnchor(hashes)
          if (records.length > 0) await this.#deps.write(records.map(anchorOf))
        }
        await dag.clearDueAnchors(hashes)
        if (hashes.length < ANCHORS_PER_ROUND) return
      }
    } catch (err) {
      if (isProgrammerError(err)) throw err
      if (isKappaError(err, 'ERR_CLOSED')) return
      // Removed meanwhile: this store writes no anchors, and the marks go.
      if (isKappaError(err, 'ERR_NOT_WRITABLE')) {
        await this.#clearAll()
        return
      }
      if (!this.#stopped) this.#deps.onError(toError(err))
    }
  }

  /** The records to anchor for `hashes`, each after the hidden nodes it links (in link order). */
  async #toAnchor(hashes: readonly NodeHash[]): Promise<NodeRecord[]> {
    const out: NodeRecord[] = []
    const seen = new Set<NodeHash>()
    const visit = async (hash: NodeHash): Promise<void> => {
      if (seen.has(hash)) return
      seen.add(hash)
      const record = await this.#deps.dag.anchorable(hash)
      if (!record) return
      for (const link of record.entry.links) await visit(link)
      out.push(record)
    }
    for (const hash of hashes) await visit(hash)
    return out
  }

  async #clearAll(): Promise<void> {
    for (;;) {
      const hashes = await this.#deps.dag.dueAnchors(ANCHORS_PER_ROUND)
      if (hashes.length === 0) return
      await this.#deps.dag.clearDueAnchors(hashes)
    }
  }
}

/** The anchor of a node: its entry as written, flagged. */
function anchorOf(record: NodeRecord): DocInput {
  const { links, value, identity, signature } = record.entry
  return {
    links,
    value,
    identity,
    signature,
    anchor: true,
    pre: { key: null, links, value, log: null, identity, signature },
  }
}
