/**
 * Progress lines on stderr while replicating: how many entries arrived (nodes the register indexed
 * from peers), at most a few lines a second, and a last one when the command ends.
 */
import type { HyperKV } from '../kv/index.js'

const INTERVAL_MS = 250

export class ReceivedCounter {
  private received = 0
  private reported = 0
  private timer: NodeJS.Timeout | null = null
  private readonly onEntry = (): void => this.count()

  constructor(
    private readonly kv: HyperKV,
    private readonly report: (line: string) => void,
  ) {
    kv.on('update', this.onEntry)
    kv.on('remove', this.onEntry)
  }

  get total(): number {
    return this.received
  }

  /** Stops counting and reports what was not reported yet. */
  stop(): void {
    this.kv.off('update', this.onEntry)
    this.kv.off('remove', this.onEntry)
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.flush()
  }

  private count(): void {
    this.received++
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.flush()
    }, INTERVAL_MS)
    this.timer.unref()
  }

  private flush(): void {
    if (this.received === this.reported) return
    const fresh = this.received - this.reported
    this.reported = this.received
    this.report(
      `received ${fresh} ${fresh === 1 ? 'entry' : 'entries'} (${this.kv.log.changes} nodes in total)`,
    )
  }
}
