/**
 * The process that has DIR open, as `hyperkv status` reports it: what it runs, its replication
 * connections (a swarm's peers, a sync's stdio), and its swarm when it has joined one. A command
 * run through the holder sees the holder's Host, so status there tells what the holder does.
 */
import type { Duplex } from 'node:stream'
import type { HyperKV } from '../kv/index.js'
import type { BootstrapState } from '../net/index.js'

/** One replication this process runs. */
export interface Connection {
  /** A swarm peer's id (hex public key), or `stdio` for push/pull/sync. */
  readonly id: string
  readonly via: 'swarm' | 'stdio'
  readonly since: Date
  /** The replication stream (what `replicationStats` reads). */
  readonly stream: Duplex
}

/** A joined swarm, for status. */
export interface SwarmInfo {
  readonly topic: string
  /** This directory's peer id (the swarm's public key, hex). */
  readonly peerId: string
  bootstrapState(): BootstrapState
}

export class Host {
  readonly pid = process.pid
  readonly connections = new Set<Connection>()
  /** What holds DIR here (e.g. `join my-room`), while a holding command runs. */
  holding: string | null = null
  since: Date | null = null
  swarm: SwarmInfo | null = null

  constructor(
    readonly dir: string,
    readonly kv: HyperKV,
  ) {}

  hold(what: string): void {
    this.holding = what
    this.since = new Date()
  }

  /** Registers a replication; returns its removal. */
  connect(id: string, via: Connection['via'], stream: Duplex): () => void {
    const connection: Connection = { id, via, since: new Date(), stream }
    this.connections.add(connection)
    return () => this.connections.delete(connection)
  }
}
