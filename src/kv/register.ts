/**
 * The multi-value register rule, as a pure function (hyperkv's indexer, ORIGINALS §1.3).
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
 * then the node becomes a head. Order is hyperkv's: insertion order, a re-indexed head keeping its
 * place. Returns `entries` itself when nothing changed, so callers can skip the write.
 */
export function applyToRegister(
  entries: readonly RegisterEntry[],
  node: RegisterNode,
  type: OpType,
): readonly RegisterEntry[] {
  const linked = node.links.length > 0 ? new Set(node.links) : null
  let changed = false
  let present = false
  const next: RegisterEntry[] = []
  for (const entry of entries) {
    if (linked?.has(entry.key)) {
      changed = true
      continue
    }
    if (entry.key === node.key) {
      present = true
      if (entry.type !== type) changed = true
      next.push({ key: entry.key, type })
      continue
    }
    next.push(entry)
  }
  if (!present) {
    // A node linking to itself cannot exist in a hash DAG; if it did, hyperkv would still add it.
    next.push({ key: node.key, type })
    changed = true
  }
  return changed ? next : entries
}
