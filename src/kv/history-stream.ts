/**
 * `kv.createHistoryStream(key)`: the key's current heads, then their ancestors, breadth first,
 * each node once — children always before their ancestors, forks in no particular order (as
 * hyperkv). Links are followed whatever key the linked node belongs to. A key that was never
 * written ends the stream with ERR_NOT_FOUND.
 */
import { Readable } from 'node:stream'
import { KappaError } from '../errors.js'
import type { NodeHash } from '../hyperlog/index.js'
import { parseDoc } from './messages.js'
import type { KvHistoryRow, KvNode } from './types.js'

export interface HistorySource {
  assertOpen(): void
  ready(): Promise<void>
  heads(key: string): Promise<NodeHash[]>
  nodes(hashes: readonly string[]): Promise<KvNode[]>
}

/** Nodes fetched together per step of the walk. */
const CHUNK = 64

export function createKvHistoryStream(key: string, source: HistorySource): Readable {
  return new KvHistoryStream(key, source)
}

class KvHistoryStream extends Readable {
  readonly #key: string
  readonly #source: HistorySource
  readonly #queue: NodeHash[] = []
  readonly #seen = new Set<string>()
  #busy = false

  constructor(key: string, source: HistorySource) {
    super({ objectMode: true, highWaterMark: 64 })
    this.#key = key
    this.#source = source
  }

  override _construct(cb: (err?: Error | null) => void): void {
    const start = async (): Promise<void> => {
      this.#source.assertOpen()
      await this.#source.ready()
      const heads = await this.#source.heads(this.#key)
      if (heads.length === 0) throw KappaError.notFound(`key not found: ${this.#key}`)
      this.#enqueue(heads)
    }
    start().then(
      () => cb(),
      (err: Error) => cb(err),
    )
  }

  override _read(): void {
    if (this.#busy) return
    if (this.#queue.length === 0) {
      this.push(null)
      return
    }
    this.#busy = true
    const hashes = this.#queue.splice(0, CHUNK)
    this.#source.nodes(hashes).then(
      (nodes) => {
        this.#busy = false
        const rows = nodes.map((node) => {
          this.#enqueue(node.links)
          return historyRow(node)
        })
        for (const row of rows) this.push(row)
        if (this.#queue.length === 0) this.push(null)
      },
      (err: Error) => {
        this.#busy = false
        this.destroy(err)
      },
    )
  }

  #enqueue(hashes: readonly NodeHash[]): void {
    for (const hash of hashes) {
      if (this.#seen.has(hash)) continue
      this.#seen.add(hash)
      this.#queue.push(hash)
    }
  }
}

function historyRow(node: KvNode): KvHistoryRow {
  const doc = parseDoc(node.value)
  const row: KvHistoryRow = {
    key: doc?.type === 'put' ? doc.key : undefined,
    link: node.key,
    value: doc?.type === 'put' ? doc.value : undefined,
    links: node.links,
  }
  if (node.identity) row.identity = node.identity
  if (node.signature) row.signature = node.signature
  return row
}
