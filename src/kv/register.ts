/**
 * The multi-value register rule, as a pure function (hyperkv 2.1's indexer; docs/DESIGN.md, "kv: HyperKV").
 *
 * Nodes are applied in the hyperlog's change order, which is topological on every replica: a node
 * arrives only after everything it links to. So "the heads of key K are the K-nodes no later K-node
 * links to" gives the same set on every replica whatever order the writers' logs arrived in — the
 * unordered-materialized-kv guarantee without its out-of-order bookkeeping.
 */
import type { OpType, RegisterEntry } from './messages.js'

export interface RegisterNode {
  /** The node's hash. */
  key: string
  links: readonly string[]
}

/**
 * The register after `node` (of type `type`, for this register's key) is indexed: every head the
 * node links to is dropped (links to other keys' nodes or to nodes no longer heads are ignored),
 * then the node becomes a head. Heads are kept sorted by hash, so every replica lists the same
 * heads in the same order whatever order it learned them in (read streams and `get` output are
 * identical across replicas). Returns `entries` itself when nothing changed, so callers can skip
 * the write. `doc` (the node's document bytes) is kept with the head when given.
 */
export function applyToRegister(
  entries: readonly RegisterEntry[],
  node: RegisterNode,
  type: OpType,
  doc?: Uint8Array,
): readonly RegisterEntry[] {
  const linked = node.links.length > 0 ? new Set(node.links) : null
  let changed = false
  let placed = false
  const next: RegisterEntry[] = []
  for (const entry of entries) {
    if (linked?.has(entry.key)) {
      changed = true
      continue
    }
    if (!placed && entry.key >= node.key) {
      placed = true
      if (entry.key === node.key) {
        // Already a head (a node re-indexed): only its type can change.
        const differs = entry.type !== type || (doc !== undefined && entry.doc === undefined)
        if (differs) changed = true
        next.push(differs ? headOf(node.key, type, doc ?? entry.doc) : entry)
        continue
      }
      next.push(headOf(node.key, type, doc))
      changed = true
    }
    next.push(entry)
  }
  if (!placed) {
    next.push(headOf(node.key, type, doc))
    changed = true
  }
  return changed ? next : entries
}

function headOf(key: string, type: OpType, doc: Uint8Array | undefined): RegisterEntry {
  return doc ? { key, type, doc } : { key, type }
}
