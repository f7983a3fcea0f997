/**
 * Is a DHT bootstrap node answering? Hyperswarm cannot tell "offline" from "no peers yet": with no
 * bootstrap node reachable its first announce and lookup just take long (`ready()` after about
 * 24 s) and then find nothing. The probe pings every bootstrap node (a DHT ping, one UDP round trip
 * each) and keeps doing so: often while none answers, seldom while one does.
 */
import { lookup } from 'node:dns/promises'
import type HyperDHT from 'hyperdht'
import type { NodeAddress } from 'hyperdht'
import type { BootstrapState } from './types.js'

export interface BootstrapProbeOptions {
  /** Delay between rounds while no bootstrap node answers (ms). */
  retryInterval: number
  /** Delay between rounds while one does (ms). */
  checkInterval: number
  onChange: (state: BootstrapState, before: BootstrapState) => void
}

export class BootstrapProbe {
  #state: BootstrapState = 'probing'
  #timer: NodeJS.Timeout | null = null
  #stopped = false
  readonly #dht: HyperDHT
  readonly #opts: BootstrapProbeOptions

  constructor(dht: HyperDHT, opts: BootstrapProbeOptions) {
    this.#dht = dht
    this.#opts = opts
  }

  get state(): BootstrapState {
    return this.#state
  }

  start(): void {
    void this.#round()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
  }

  async #round(): Promise<void> {
    if (this.#stopped) return
    let answered: boolean
    try {
      answered = await this.#anyAnswers()
    } catch {
      answered = false
    }
    if (this.#stopped) return
    const next: BootstrapState = answered ? 'reachable' : 'unreachable'
    const before = this.#state
    if (next !== before) {
      this.#state = next
      this.#opts.onChange(next, before)
    }
    this.#timer = setTimeout(
      () => void this.#round(),
      answered ? this.#opts.checkInterval : this.#opts.retryInterval,
    )
    this.#timer.unref()
  }

  /** One round: resolves true as soon as one node answers, false once every ping failed. */
  async #anyAnswers(): Promise<boolean> {
    const nodes = this.#dht.bootstrapNodes
    if (nodes.length === 0) return false
    const pings = nodes.map(async (node) => {
      const address = await resolve(node)
      await this.#dht.ping(address)
      return true
    })
    return Promise.any(pings).catch(() => false)
  }
}

/** `'1.2.3.4@host.name'` (a suggested address) → the address; a host name → its IPv4 address. */
async function resolve(node: NodeAddress): Promise<NodeAddress> {
  const at = node.host.indexOf('@')
  const host = at === -1 ? node.host : node.host.slice(0, at)
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return { host, port: node.port }
  const { address } = await lookup(host, { family: 4 })
  return { host: address, port: node.port }
}
