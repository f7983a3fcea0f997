/**
 * Where a swarm's DHT node bootstraps from: an option, else `$HYPERKV_BOOTSTRAP`, else Hyperswarm's
 * public bootstrap nodes. A bootstrap list made only of loopback addresses means a local testnet;
 * the node then binds 127.0.0.1 too, or the testnet's nodes would hand out addresses the peers
 * cannot reach each other on (servers then never see a connection).
 */
import { KappaError } from '../errors.js'

/** A DHT node's UDP address. */
export interface NodeAddress {
  host: string
  port: number
}

export const BOOTSTRAP_ENV = 'HYPERKV_BOOTSTRAP'

/** `'host:port,host:port'`, or a list of `'host:port'` strings and `{ host, port }` objects. */
export type BootstrapInput = string | ReadonlyArray<string | NodeAddress>

export function parseBootstrap(input: BootstrapInput): NodeAddress[] {
  const items = typeof input === 'string' ? input.split(',').filter((s) => s.trim() !== '') : [...input]
  if (items.length === 0) throw KappaError.invalid('bootstrap needs at least one host:port')
  return items.map(toNodeAddress)
}

/** The bootstrap list from the option, else from the environment; undefined: the public nodes. */
export function resolveBootstrap(
  option: BootstrapInput | undefined,
  env: Readonly<Record<string, string | undefined>>,
): NodeAddress[] | undefined {
  if (option !== undefined) return parseBootstrap(option)
  const fromEnv = env[BOOTSTRAP_ENV]
  if (fromEnv === undefined || fromEnv.trim() === '') return undefined
  return parseBootstrap(fromEnv)
}

export function isLoopbackOnly(nodes: readonly NodeAddress[]): boolean {
  return nodes.every((n) => n.host === 'localhost' || n.host === '::1' || n.host.startsWith('127.'))
}

function toNodeAddress(item: string | NodeAddress): NodeAddress {
  if (typeof item === 'string') {
    const match = /^\s*\[?([^\]\s]+?)\]?:(\d{1,5})\s*$/.exec(item)
    if (!match) throw KappaError.invalid(`bootstrap node must be host:port, got ${JSON.stringify(item)}`)
    return checked(match[1] as string, Number(match[2]))
  }
  if (item === null || typeof item !== 'object') throw KappaError.invalid('bootstrap node must be host:port')
  return checked(item.host, item.port)
}

function checked(host: unknown, port: unknown): NodeAddress {
  if (typeof host !== 'string' || host === '')
    throw KappaError.invalid('bootstrap host must be a non-empty string')
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw KappaError.invalid('bootstrap port must be an integer from 1 to 65535')
  }
  return { host, port }
}
