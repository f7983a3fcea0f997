/**
 * `RegisterIndex`: the register as an index over the log's change order (`log.createIndex`):
 * each batch of visible nodes, in change order, applied to its keys' registers; the registers
 * staged and committed with the index position in one atomic batch, cached once committed.
 */
import type { ChangeIndex, Hyperlog, StagedWrites } from '../hyperlog/index.js'
import type { KvEvents, IndexedOp } from './kv-events.js'
import type { LocalWrites } from './local-writes.js'
import { encodeRegister, parseDoc, type RegisterEntry } from './messages.js'
import { applyToRegister } from './register.js'
import { RegisterReads, type Register, type RegisterStore } from './register-store.js'
import type { KvDatabase, KvNode } from './types.js'

/** Nodes per index batch: one level batch each, so replicated nodes are indexed in large steps. */
const INDEX_BATCH = 500

export function createRegisterIndex(
  log: Hyperlog<unknown>,
  registers: RegisterStore,
  local: LocalWrites,
  events: KvEvents,
): ChangeIndex {
  return log.createIndex({
    db: registers.db as unknown as KvDatabase,
    name: 'kv',
    maxBatch: INDEX_BATCH,
    map: (nodes, staged) => mapNodes(nodes as KvNode[], staged, registers, local, events),
    // Built again (a writer's nodes were hidden or came back): the log cleared the registers.
    reset: () => {
      registers.clearCache()
      local.reset()
    },
  })
}

/** Applies a batch of nodes (in change order) to the registers. */
async function mapNodes(
  nodes: KvNode[],
  staged: StagedWrites,
  store: RegisterStore,
  local: LocalWrites,
  events: KvEvents,
): Promise<void> {
  const ops: IndexedOp[] = []
  const bytes: Buffer[] = []
  // Not kept in the node cache: registers hold their heads' documents, and a cache entry per
  // indexed node was a tenth of a batch row's time.
  nodes.forEach((node, i) => {
    const doc = parseDoc(node.value)
    if (!doc) return
    ops.push({ node, type: doc.type, key: doc.key, value: doc.type === 'put' ? doc.value : undefined })
    bytes.push(staged.valueBytes[i])
  })
  if (ops.length === 0) return
  // Earlier batches are committed and their registers cached (one map at a time, the cache set
  // after each commit), so cache or database hold their state — or the registers the write
  // planner read for the batch committed with these nodes (its proof held: nothing committed since).
  let atCommit: ReadonlyMap<string, Register> | null = null
  for (const proof of staged.proofs)
    if (proof.reads instanceof RegisterReads) atCommit = proof.reads.registers
  const wanted = atCommit ? ops.filter((op) => !atCommit.has(op.key)) : ops
  const keys = wanted.length === 1 ? [wanted[0]!.key] : wanted.map((op) => op.key)
  const stored = wanted.length === 0 ? NO_REGISTERS : (store.getManySync(keys) ?? (await store.getMany(keys)))
  /** The registers this batch changed, as it leaves them. */
  const registers = new Map<string, Register>()
  ops.forEach((op, i) => {
    const before = registers.get(op.key) ?? atCommit?.get(op.key) ?? stored.get(op.key)!
    // The head keeps its document (the stored JSON the value was parsed from), so `get` and read
    // streams need no node reads.
    const after = applyToRegister(before, op.node, op.type, bytes[i])
    if (after !== before) registers.set(op.key, after)
  })
  for (const [key, entries] of registers) {
    store.willWrite(key)
    staged.put(key, encodeRegister(entries as RegisterEntry[]))
  }
  staged.afterCommit(() => {
    for (const [key, entries] of registers) store.cache(key, entries)
    events.indexed(ops, registers, (op) => local.onIndexed(op.key, op.node.key))
  })
}

const NO_REGISTERS: ReadonlyMap<string, Register> = new Map()
