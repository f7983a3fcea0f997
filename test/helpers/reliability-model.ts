/**
 * The reliability tests' adapter over kv's reference model (mv-model.ts): kv nodes → model nodes,
 * a model rebuilt from what a replica's log holds, the DAG's global heads, and the one comparison
 * every check uses — a HyperKV's `get` for every key and its read stream equal a model.
 */
import assert from 'node:assert/strict'
import type { HyperKV, KvNode } from '../../src/kv/index.js'
import { MvModel, normalizeRow, type ModelNode } from './mv-model.js'

/** A kv node as the model sees it; `null` for a node that is not a kv operation. */
export function modelNode(node: KvNode): ModelNode | null {
  const doc = node.value as { k?: unknown; v?: unknown; d?: unknown } | null
  if (doc === null || typeof doc !== 'object') return null
  if (typeof doc.k === 'string')
    return { hash: node.key, key: doc.k, type: 'put', value: doc.v, links: node.links }
  if (typeof doc.d === 'string') return { hash: node.key, key: doc.d, type: 'del', links: node.links }
  return null
}

/** Every node a replica's log holds (visible ones, in its change order). */
export async function logNodes(kv: HyperKV): Promise<KvNode[]> {
  const nodes: KvNode[] = []
  for await (const node of kv.log.createReadStream()) nodes.push(node as KvNode)
  return nodes
}

/** A model holding exactly `nodes`, and the DAG's every node (for global heads). */
export class ReplicaModel {
  readonly mv = new MvModel()
  readonly dag = new Map<string, readonly string[]>()
  /**
   * The nodes themselves, in the order added: every copy of a hash (writers that wrote the same
   * key, value and links made the same node, each in its own log).
   */
  readonly #copies = new Map<string, KvNode[]>()

  add(node: KvNode): void {
    this.dag.set(node.key, node.links)
    const copies = this.#copies.get(node.key)
    if (!copies) this.#copies.set(node.key, [node])
    else if (!copies.some((c) => c.log === node.log && c.seq === node.seq)) copies.push(node)
    const m = modelNode(node)
    if (m) this.mv.add(m)
  }

  has(hash: string): boolean {
    return this.dag.has(hash)
  }

  /** Every copy of node `hash` (one per log that holds it). */
  copies(hash: string): readonly KvNode[] {
    return this.#copies.get(hash) ?? []
  }

  /** Every node hash, sorted. */
  hashes(): string[] {
    return [...this.dag.keys()].sort()
  }

  /** The hashes of the key's nodes (heads or not), sorted. */
  nodesOf(key: string): string[] {
    return this.hashes().filter((hash) => this.mv.node(hash)?.key === key)
  }

  /** The hashes of every node that is not of `key`, sorted. */
  nodesExcept(key: string): string[] {
    return this.hashes().filter((hash) => this.mv.node(hash)?.key !== key)
  }

  /** The nodes no node links to, sorted: what `log.heads()` must list. */
  heads(): string[] {
    const linked = new Set<string>()
    for (const links of this.dag.values()) for (const link of links) linked.add(link)
    return [...this.dag.keys()].filter((hash) => !linked.has(hash)).sort()
  }

  static async of(kv: HyperKV): Promise<ReplicaModel> {
    const model = new ReplicaModel()
    for (const node of await logNodes(kv)) model.add(node)
    return model
  }
}

export async function readRows(kv: HyperKV, opts?: Parameters<HyperKV['createReadStream']>[0]) {
  const rows: Array<{ key: string; links: string[] }> = []
  for await (const row of kv.createReadStream(opts))
    rows.push(normalizeRow(row as { key: string; links: string[] }))
  return rows
}

/**
 * `kv` answers as `model` says: `get` for every key the model knows plus `extraKeys`, the whole
 * read stream, and the log's heads. `where` names the replica in assertion messages.
 */
export async function assertKvEquals(
  kv: HyperKV,
  model: ReplicaModel,
  where: string,
  extraKeys: readonly string[] = [],
): Promise<void> {
  await kv.ready()
  for (const key of new Set([...model.mv.keys(), ...extraKeys])) {
    assert.deepEqual(await kv.get(key), model.mv.get(key), `${where}: get(${JSON.stringify(key)})`)
  }
  assert.deepEqual(await readRows(kv), model.mv.rows(), `${where}: createReadStream`)
  const heads = (await kv.log.heads()).map((node) => node.key as string)
  assert.deepEqual(heads.sort(), model.heads(), `${where}: heads`)
}
