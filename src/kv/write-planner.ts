/**
 * `WritePlanner`: turns queued rows into one log batch (one feed append). Un-linked rows take
 * their key's heads; a key's later un-linked rows link its earlier rows of the batch, whose hashes
 * are computed here with the log's own hash.
 *
 * Where the heads come from depends on the register index:
 *  - in-line (its db lives in the log's database and it has caught up): the register is committed
 *    with every node the log makes visible, so the stored registers are current. The batch then
 *    carries a proof (see Hyperlog's BatchProof): rows linking their key's heads are new nodes
 *    linking visible ones, so the log skips its index read; and the registers read go back to the
 *    register index with the batch's nodes (`RegisterReads`), so it does not read them again.
 *  - not in-line (its db lives elsewhere, or it is catching up): the registers this store's own
 *    recent commits lead to (`LocalWrites`' predictions), else the index's — after waiting for it
 *    when it is behind on nodes this store did not write.
 */
import type { ChangeIndex, Hyperlog, NodeHash } from '../hyperlog/index.js'
import type { KvEvents } from './kv-events.js'
import type { LocalWrites } from './local-writes.js'
import type { Materialiser } from './materialise.js'
import { encodeDelDoc, encodePutDoc, type KvDoc, type KvFields, type OpType } from './messages.js'
import { applyToRegister } from './register.js'
import { RegisterReads, type Register, type RegisterStore } from './register-store.js'
import type { KvNode } from './types.js'

/** A write after validation: `links` null means "the key's current heads". */
export interface WriteRow {
  type: OpType
  key: string
  value?: unknown
  fields?: KvFields
  links: NodeHash[] | null
}

export interface WritePlannerDeps {
  log: Hyperlog<unknown>
  index: ChangeIndex
  registers: RegisterStore
  local: LocalWrites
  events: KvEvents
  materialiser: Materialiser
}

export class WritePlanner {
  readonly #deps: WritePlannerDeps

  constructor(deps: WritePlannerDeps) {
    this.#deps = deps
  }

  /** Commits the rows as one log batch; resolves with their nodes in row order. */
  async commit(rows: WriteRow[]): Promise<KvNode[]> {
    const { log, index, local } = this.#deps
    const inline = index.inline
    if (!inline && local.mustWait(index.position)) {
      await index.ready()
      await this.#deps.events.emitted
      local.caughtUp()
    }
    // Writes are what knowing the keys never written speeds up: a store only read never scans them.
    void this.#deps.registers.learnKeys()
    const keys = rows.length === 1 ? [rows[0]!.key] : new Set(rows.map((row) => row.key))
    // The DAG's change the registers below are read at (in-line, they move with it): the proof's.
    const asOf = log.changes
    const store = this.#deps.registers
    // In-line, the stored registers (not cached: the register index caches what it makes of them).
    const registers = inline
      ? (store.getManySync(keys, false) ?? (await store.getMany(keys, false)))
      : await this.#readPredicted(keys)

    // A row's own hash is needed before the append only when a later un-linked row must link it.
    const needsHash = rows.length === 1 ? null : new Array<boolean>(rows.length)
    if (needsHash) {
      const laterUnlinked = new Set<string>()
      for (let i = rows.length - 1; i >= 0; i--) {
        needsHash[i] = laterUnlinked.has(rows[i]!.key)
        if (rows[i]!.links === null) laterUnlinked.add(rows[i]!.key)
      }
    }
    // The registers before this commit (the loop below moves a key on past its earlier rows), for
    // the predictions made when the index is not in-line.
    const base = inline || !needsHash ? registers : new Map(registers)
    const docs: { links: NodeHash[]; value: KvDoc }[] = []
    // A row linking its key's heads, as the register has them at `asOf`, is a new node linking
    // visible ones: a visible node with its links and document would be a node of that key that
    // the register applied, dropping those heads. Not after an explicitly linked row of the key in
    // this batch (it may be a node the register already has, and the heads derived past it are
    // not the register's).
    const proven = inline ? new Array<boolean>(rows.length) : null
    const explicit = proven && rows.some((row) => row.links !== null) ? new Set<string>() : null
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!
      const value = documentOf(row)
      if (proven) {
        proven[i] = row.links === null && !explicit?.has(row.key)
        if (row.links !== null) explicit?.add(row.key)
      }
      const links = row.links ?? linksOf(registers.get(row.key)!)
      if (needsHash?.[i]) {
        const hash = await log.hash(links, value)
        registers.set(row.key, applyToRegister(registers.get(row.key)!, { key: hash, links }, row.type))
      }
      docs.push({ links, value })
    }
    let nodes: KvNode[]
    if (proven) {
      // Rows that moved a key on (needsHash) changed `registers`: then they are not the state at asOf.
      const reads = needsHash?.includes(true) ? undefined : new RegisterReads(registers)
      nodes = await log.batch(docs, { proof: { asOf, proven, reads } })
    } else nodes = await local.capture(() => log.batch(docs))
    // In-line, no prediction is made: the log's announcements need not be told apart.
    if (inline && index.inline) return nodes
    // What the index will make of these nodes, for the next writes until it has.
    const predicted = new Map<string, Register>()
    nodes.forEach((node, i) => {
      const row = rows[i]!
      this.#deps.materialiser.remember(node)
      const before = predicted.get(row.key) ?? base.get(row.key)!
      const after = applyToRegister(before, node, row.type)
      predicted.set(row.key, after)
      local.predict(row.key, after, node.key)
    })
    return nodes
  }

  /** Not in-line: the predicted registers of keys this store wrote recently, else the stored ones. */
  async #readPredicted(keys: Iterable<string>): Promise<Map<string, Register>> {
    const store = this.#deps.registers
    const registers = new Map<string, Register>()
    const unpredicted: string[] = []
    for (const key of keys) {
      const predicted = this.#deps.local.predicted(key)
      if (predicted) registers.set(key, predicted)
      else unpredicted.push(key)
    }
    const read = store.getManySync(unpredicted) ?? (await store.getMany(unpredicted))
    for (const [key, entries] of read) registers.set(key, entries)
    return registers
  }
}

/** The stored document of a row. */
export function documentOf(row: WriteRow): KvDoc {
  return row.type === 'put' ? encodePutDoc(row.key, row.value, row.fields) : encodeDelDoc(row.key, row.fields)
}

function linksOf(register: Register): NodeHash[] {
  if (register.length === 0) return []
  return register.map((entry) => entry.key as NodeHash)
}
