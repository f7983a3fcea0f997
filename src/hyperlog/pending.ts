/**
 * Nodes that arrived before some of their links (a replica indexes logs in whatever order they
 * arrive). They stay here, and persisted under `p!` keys, until their last missing link becomes
 * visible; then they become visible in the same view batch, so change order stays topological.
 */
import type { NodeRecord } from './messages.js'
import type { NodeHash } from './types.js'

export interface PendingNode {
  /** Its key in the DAG index (`p!…`). */
  id: string
  hash: NodeHash
  record: NodeRecord
  missing: Set<NodeHash>
}

export class PendingNodes {
  readonly #byHash = new Map<NodeHash, PendingNode>()
  readonly #waitingOn = new Map<NodeHash, PendingNode[]>()

  get size(): number {
    return this.#byHash.size
  }

  has(hash: NodeHash): boolean {
    return this.#byHash.has(hash)
  }

  add(node: PendingNode): void {
    this.#byHash.set(node.hash, node)
    for (const link of node.missing) {
      const list = this.#waitingOn.get(link)
      if (list) list.push(node)
      else this.#waitingOn.set(link, [node])
    }
  }

  /** `hash` became visible: returns the nodes that waited for nothing else, and forgets them. */
  release(hash: NodeHash): readonly PendingNode[] {
    const waiting = this.#waitingOn.get(hash)
    if (!waiting) return NONE
    this.#waitingOn.delete(hash)
    const ready: PendingNode[] = []
    for (const node of waiting) {
      node.missing.delete(hash)
      if (node.missing.size === 0) {
        this.#byHash.delete(node.hash)
        ready.push(node)
      }
    }
    return ready
  }
}

const NONE: readonly PendingNode[] = []
