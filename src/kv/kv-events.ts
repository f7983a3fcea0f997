/**
 * `KvEvents`: what HyperKV announces, and when. A write's `'put'`/`'del'` go out as it settles,
 * before its caller resumes; the register index's `'update'`/`'remove'` and the live read
 * streams' registers go out once their batch is committed, in change order — so a listener reading
 * the store sees what it heard of.
 */
import { EventEmitter } from 'node:events'
import type { OpType, RegisterEntry } from './messages.js'
import type { Register } from './register-store.js'
import type { KvNode } from './types.js'

/** An indexed node, as the register index applied it. */
export interface IndexedOp {
  node: KvNode
  type: OpType
  key: string
  value: unknown
}

/** What KvEvents announces through: the store's own `emit`. */
export interface KvEmitter {
  put(key: string, value: unknown, node: KvNode): void
  del(key: string, node: KvNode): void
  update(key: string, value: unknown, node: KvNode): void
  remove(key: string, node: KvNode): void
}

export class KvEvents {
  readonly #emit: KvEmitter
  /** Registers as a committed batch left them, for live read streams. */
  readonly #registers = new EventEmitter<{ register: [key: string, entries: RegisterEntry[]] }>()
  /** Settles after the events of every batch indexed so far went out (never rejects). */
  #emissions: Promise<void> = Promise.resolve()

  constructor(emit: KvEmitter) {
    this.#emit = emit
    this.#registers.setMaxListeners(0)
  }

  /** Resolves once the events of every batch indexed so far went out. */
  get emitted(): Promise<void> {
    return this.#emissions
  }

  /** A write's `'put'`/`'del'`. A listener's exception surfaces as uncaught, never as the write's failure. */
  written(type: OpType, key: string, value: unknown, node: KvNode): void {
    try {
      if (type === 'put') this.#emit.put(key, value, node)
      else this.#emit.del(key, node)
    } catch (err) {
      rethrowLater(err)
    }
  }

  /**
   * A committed batch of the register index (`registers`: the registers it changed, as it left
   * them): `'update'`/`'remove'` per node, then each register to the live streams, after the events of
   * earlier batches. `each` runs per op first (the store's own bookkeeping).
   */
  indexed(ops: IndexedOp[], registers: Map<string, Register>, each: (op: IndexedOp) => void): void {
    const announce = (): void => {
      for (const op of ops) {
        each(op)
        try {
          if (op.type === 'put') this.#emit.update(op.key, op.value, op.node)
          else this.#emit.remove(op.key, op.node)
        } catch (err) {
          rethrowLater(err)
        }
      }
      // Live read streams listen here; without them the copies are waste.
      if (this.#registers.listenerCount('register') === 0) return
      for (const [key, entries] of registers) {
        try {
          this.#registers.emit('register', key, [...entries])
        } catch (err) {
          rethrowLater(err)
        }
      }
    }
    this.#emissions = this.#emissions.then(announce)
  }

  subscribe(listener: (key: string, entries: RegisterEntry[]) => void): () => void {
    this.#registers.on('register', listener)
    return () => this.#registers.off('register', listener)
  }

  /** Wakes live streams so they notice the close, then drops them. */
  close(): void {
    this.#registers.emit('register', '', [])
    this.#registers.removeAllListeners()
  }
}

/** A listener's exception surfaces as EventEmitter's would (uncaught), without stopping the events after it. */
function rethrowLater(err: unknown): void {
  process.nextTick(() => {
    throw err
  })
}
