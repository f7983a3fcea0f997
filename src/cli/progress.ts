/**
 * Progress on stderr while replicating: at most one line a second, only when something changed,
 * and what moved in words a user reads ("received 51,200 nodes (402 blocks, 12.3 MB), sent
 * nothing"). Blocks and bytes come from the replication stream's counters (`replicationStats`);
 * nodes are the DAG nodes that arrived from peers.
 */
import type { ReplicationStats } from '../feeds/index.js'
import type { HyperKV } from '../kv/index.js'

/** At most one progress line per this many ms. */
export const PROGRESS_INTERVAL = 1000

/** Calls `describe` once per interval and reports its line when it changed (null: nothing to say). */
export class ProgressTicker {
  #last: string | null = null
  readonly #timer: NodeJS.Timeout
  readonly #describe: () => string | null
  readonly #report: (line: string) => void

  constructor(describe: () => string | null, report: (line: string) => void, interval = PROGRESS_INTERVAL) {
    this.#describe = describe
    this.#report = report
    this.#timer = setInterval(() => this.#tick(), interval)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  #tick(): void {
    const line = this.#describe()
    if (line === null || line === this.#last) return
    this.#last = line
    this.#report(line)
  }
}

/**
 * DAG nodes this store received from peers since the counter started: nodes that became visible
 * in a log that is not one of our own writers (a `put` served meanwhile is not received).
 */
export class ReceivedNodes {
  #count = 0
  readonly #onAdd = (node: { log: string }): void => {
    if (this.#kv.log.kappa.feed(node.log)?.writable !== true) this.#count++
  }
  readonly #kv: HyperKV

  constructor(kv: HyperKV) {
    this.#kv = kv
    kv.log.on('add', this.#onAdd)
  }

  get total(): number {
    return this.#count
  }

  stop(): void {
    this.#kv.log.off('add', this.#onAdd)
  }
}

export type Direction = 'push' | 'pull' | 'sync'

/**
 * What moved, each half as the mode has it. While running: "received 3,160 blocks (29.0 MB;
 * 52,576 nodes indexed), sent nothing". At the end (`final`): "received 200,000 nodes in 3,160
 * blocks (29.0 MB), sent nothing" — by then every received node is indexed.
 */
export function describeMoved(
  mode: Direction,
  stats: ReplicationStats,
  nodes: number,
  final = false,
): string {
  const parts: string[] = []
  if (mode !== 'push') {
    const blocks = `${plural(stats.blocksReceived, 'block')}`
    const size = bytes(stats.bytesReceived)
    if (stats.blocksReceived === 0 && nodes === 0) parts.push('received nothing')
    else if (final) parts.push(`received ${plural(nodes, 'node')} in ${blocks} (${size})`)
    else parts.push(`received ${blocks} (${size}; ${plural(nodes, 'node')} indexed)`)
  }
  if (mode !== 'pull') {
    parts.push(
      stats.blocksSent === 0
        ? 'sent nothing'
        : `sent ${plural(stats.blocksSent, 'block')} (${bytes(stats.bytesSent)})`,
    )
  }
  return parts.join(', ')
}

export function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : `${word}s`}`
}

export function bytes(n: number): string {
  if (n < 1000) return `${n} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let value = n / 1000
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}
