/**
 * A pure in-memory reference model of HyperKV's multi-value register, for tests.
 *
 * The model knows nothing about change order, logs or indexes: it holds a set of DAG nodes
 * `{ hash, key, type, value, links }` and answers with the definition itself — the heads of key K
 * are the nodes of K that no node of K links to (links to other keys' nodes are ignored, as in
 * hyperkv). Nodes may be added in any order; the answers depend only on the set. Head lists are
 * sorted by hash, as HyperKV's register keeps them.
 */
export type ModelOp = 'put' | 'del'

export interface ModelNode {
  hash: string
  key: string
  type: ModelOp
  /** The put value (ignored for dels). */
  value?: unknown
  links: readonly string[]
}

export type ModelValue = { value: unknown } | { deleted: true }

export interface ModelRow {
  key: string
  links: string[]
  values: Record<string, ModelValue>
}

export class MvModel {
  private readonly nodes = new Map<string, ModelNode>()
  private readonly byKey = new Map<string, Set<string>>()

  /** Adds a node; adding the same hash again is a no-op (content addressing dedupes). */
  add(node: ModelNode): void {
    if (this.nodes.has(node.hash)) return
    this.nodes.set(node.hash, { ...node, links: [...node.links] })
    let hashes = this.byKey.get(node.key)
    if (!hashes) this.byKey.set(node.key, (hashes = new Set()))
    hashes.add(node.hash)
  }

  has(hash: string): boolean {
    return this.nodes.has(hash)
  }

  node(hash: string): ModelNode | undefined {
    return this.nodes.get(hash)
  }

  /** Every key that has at least one node, sorted. */
  keys(): string[] {
    return [...this.byKey.keys()].sort()
  }

  /** The key's heads, sorted by hash; `[]` for an unknown key. */
  heads(key: string): string[] {
    const hashes = this.byKey.get(key)
    if (!hashes) return []
    const linked = new Set<string>()
    for (const hash of hashes) for (const link of this.nodes.get(hash)!.links) linked.add(link)
    return [...hashes].filter((hash) => !linked.has(hash)).sort()
  }

  /** What `kv.get(key)` must return: hash → `{ value }` or `{ deleted: true }`; `{}` if unknown. */
  get(key: string): Record<string, ModelValue> {
    const out: Record<string, ModelValue> = {}
    for (const hash of this.heads(key)) {
      const node = this.nodes.get(hash)!
      out[hash] = node.type === 'del' ? { deleted: true } : { value: node.value }
    }
    return out
  }

  /** What a read stream must return (links sorted), one row per key in key order. */
  rows(): ModelRow[] {
    return this.keys().map((key) => ({ key, links: this.heads(key), values: this.get(key) }))
  }
}

/** A read-stream row with its links sorted (HyperKV's already are; kept for other producers). */
export function normalizeRow<R extends { links: readonly string[] }>(row: R): R {
  return { ...row, links: [...row.links].sort() }
}
