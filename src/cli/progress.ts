/**
 * Progress lines on stderr while replicating: how many nodes arrived, at most a few lines a second,
 * and a last one when the command ends. Counted from the log's change number (nothing is written
 * locally while replicating, so every new change came from a peer), woken by the log's 'add'.
 */
import type { HyperKV } from '../kv/index.js'

const INTERVAL_MS = 250

export class ReceivedCounter {
  private readonly start: number
  private reported: number
  private timer: NodeJS.Timeout | null = null
  private readonly onAdd = (): void => this.schedule()

  constructor(
    private readonly kv: HyperKV,
    private readonly report: (line: string) => void,
  ) {
    this.start = kv.log.changes
    this.reported = this.start
    kv.log.on('add', this.onAdd)
  }

  /** Nodes received since the counter started. */
  get total(): number {
    return this.kv.log.changes - this.start
  }

  /** Stops counting and reports what was not reported yet. */
  stop(): void {
    this.kv.log.off('add', this.onAdd)
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.flush()
  }

  private schedule(): void {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.flush()
    }, INTERVAL_MS)
    this.timer.unref()
  }

  private flush(): void {
    const changes = this.kv.log.changes
    if (changes === this.reported) return
    const fresh = changes - this.reported
    this.reported = changes
    this.report(`received ${fresh} ${fresh === 1 ? 'entry' : 'entries'} (${changes} nodes in total)`)
  }
}
