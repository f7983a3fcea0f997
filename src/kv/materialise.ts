/**
 * What readers get from the registers: the heads' values (or documents), from the documents the
 * register keeps, else (registers written before they kept documents) from the nodes — fetched
 * from the log through a bounded cache that also serves history streams.
 */
import type { Hyperlog, NodeHash } from '../hyperlog/index.js'
import { isKappaError } from '../errors.js'
import { GenerationalCache } from './generational-cache.js'
import { decodeDoc, type KvDoc, type RegisterEntry } from './messages.js'
import type { KvDocs, KvNode, KvValues } from './types.js'

/** Nodes fetched or written with explicit links stay in memory for history streams and old registers. */
const NODE_CACHE_SIZE = 16384

export class Materialiser {
  readonly #log: Hyperlog<unknown>
  readonly #nodes = new GenerationalCache<KvNode>(NODE_CACHE_SIZE)

  constructor(log: Hyperlog<unknown>) {
    this.#log = log
  }

  /** A node this store wrote or fetched: kept for the reads that may follow. */
  remember(node: KvNode): void {
    this.#nodes.set(node.key, node)
  }

  async nodes(hashes: readonly string[]): Promise<KvNode[]> {
    return Promise.all(
      hashes.map((hash) => {
        const cached = this.#nodes.get(hash)
        if (cached) return cached
        return this.#log.get(hash as NodeHash).then((node) => {
          this.#nodes.set(hash, node)
          return node
        })
      }),
    )
  }

  /** The nodes of these hashes that are visible, in order: a hidden one (`ERR_NOT_FOUND`) is left out. */
  async visibleNodes(hashes: readonly string[]): Promise<KvNode[]> {
    const found = await Promise.all(
      hashes.map((hash) =>
        this.nodes([hash]).then(
          ([node]) => node,
          (err: unknown) => {
            if (isKappaError(err, 'ERR_NOT_FOUND')) return null
            throw err
          },
        ),
      ),
    )
    return found.filter((node): node is KvNode => node !== null && node !== undefined)
  }

  /** The heads' values (`fields`: their documents): at once when the register keeps every document. */
  valuesSync(entries: readonly RegisterEntry[], fields: boolean): KvValues | KvDocs | null {
    if (!entries.every((entry) => entry.doc !== undefined)) return null
    return valuesFrom(entries, (entry) => decodeDoc(entry.doc!), fields)
  }

  /** The heads' values, reading the nodes of heads whose document the register lacks. */
  async values(entries: readonly RegisterEntry[], fields: boolean): Promise<KvValues | KvDocs> {
    const known = this.valuesSync(entries, fields)
    if (known) return known
    const nodes = await this.nodes(entries.map((entry) => entry.key))
    const docs = new Map(entries.map((entry, i) => [entry, nodes[i]!.value as KvDoc]))
    return valuesFrom(entries, (entry) => docs.get(entry)!, fields)
  }

  clear(): void {
    this.#nodes.clear()
  }
}

function valuesFrom(
  entries: readonly RegisterEntry[],
  docOf: (entry: RegisterEntry) => KvDoc,
  fields: boolean,
): KvValues | KvDocs {
  const out: Record<string, unknown> = {}
  for (const entry of entries) {
    if (fields) out[entry.key] = docOf(entry)
    else if (entry.type === 'del') out[entry.key] = { deleted: true }
    else out[entry.key] = { value: (docOf(entry) as { v?: unknown }).v }
  }
  return out as KvValues | KvDocs
}
