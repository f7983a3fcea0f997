/**
 * `status [--json]`: what this database is and what the process holding it does — the database
 * key (or "open key"), this directory's writer key, feeds, entries and nodes, the holding process
 * and its connections with what moved on each, and whether a DHT bootstrap node answers.
 */
import { OPEN_DATABASE_KEY, replicationStats, type ReplicationStats } from '../../feeds/index.js'
import type { HyperKV } from '../../kv/index.js'
import type { Prepare } from '../context.js'
import type { Host } from '../host.js'
import { toJson, writeOut } from '../output.js'
import { bytes, plural } from '../progress.js'

/** The hyperlog's own writer (docs/DESIGN.md, Hyperlog: nodes in logs). */
const LOG_WRITER = 'hyperlog'

export interface StatusPeer extends ReplicationStats {
  id: string
  via: 'swarm' | 'stdio'
  since: string
}

export interface Status {
  /** The database key as hex, or `'open'` for the well-known open key. */
  databaseKey: string
  writer: string
  feeds: number
  entries: number
  nodes: number
  /** The process holding the directory, or null when none does (this command opened it). */
  holder: { pid: number; command: string; since: string } | null
  /** The swarm the holder joined, or null. */
  swarm: { topic: string; peerId: string; bootstrap: string } | null
  peers: StatusPeer[]
}

export const prepareStatus: Prepare = (inv) => {
  const json = inv.options.json === true
  return async (kv, { io, host }) => {
    const status = await collect(kv, host)
    await writeOut(io.stdout, json ? toJson(status) + '\n' : render(status))
  }
}

/** This directory's writer key (hex): the feed its puts go to, `members.self` in an owned database. */
export async function writerKeyOf(kv: HyperKV): Promise<string> {
  return kv.members?.self ?? (await kv.log.kappa.writer(LOG_WRITER)).id
}

async function collect(kv: HyperKV, host: Host): Promise<Status> {
  const kappa = kv.log.kappa
  const feeds = kappa.feeds()
  const key = kappa.key
  return {
    databaseKey: key.equals(OPEN_DATABASE_KEY) ? 'open' : key.toString('hex'),
    writer: await writerKeyOf(kv),
    feeds: feeds.length,
    entries: feeds.reduce((sum, feed) => sum + feed.length, 0),
    nodes: kv.log.changes,
    holder:
      host.holding && host.since
        ? { pid: host.pid, command: host.holding, since: host.since.toISOString() }
        : null,
    swarm: host.swarm
      ? { topic: host.swarm.topic, peerId: host.swarm.peerId, bootstrap: host.swarm.bootstrapState() }
      : null,
    peers: [...host.connections].map((c) => ({
      id: c.id,
      via: c.via,
      since: c.since.toISOString(),
      ...replicationStats(c.stream),
    })),
  }
}

const BOOTSTRAP_WORDS: Record<string, string> = {
  probing: 'not known yet (probing)',
  reachable: 'reachable',
  unreachable: 'unreachable (no bootstrap node answers; still trying)',
}

function render(s: Status): string {
  const rows: Array<[string, string]> = [
    ['database key', s.databaseKey === 'open' ? 'open key' : s.databaseKey],
    ['writer', s.writer],
    ['feeds', s.feeds.toLocaleString('en-US')],
    ['entries', s.entries.toLocaleString('en-US')],
    ['nodes', s.nodes.toLocaleString('en-US')],
    [
      'held by',
      s.holder
        ? `hyperkv ${s.holder.command} (pid ${s.holder.pid}, since ${s.holder.since})`
        : 'nobody (no hyperkv process is running on this directory)',
    ],
  ]
  if (s.swarm) {
    rows.push(['topic', s.swarm.topic], ['peer id', s.swarm.peerId])
    rows.push(['dht bootstrap', BOOTSTRAP_WORDS[s.swarm.bootstrap] ?? s.swarm.bootstrap])
  } else rows.push(['dht bootstrap', 'not joined'])
  rows.push(['peers', String(s.peers.length)])
  const width = Math.max(...rows.map(([label]) => label.length))
  let out = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}\n`).join('')
  for (const p of s.peers) {
    const who = p.via === 'stdio' ? 'stdin/stdout' : p.id.slice(0, 16)
    out +=
      `  ${who}: received ${plural(p.blocksReceived, 'block')} (${bytes(p.bytesReceived)}), ` +
      `sent ${plural(p.blocksSent, 'block')} (${bytes(p.bytesSent)}); ` +
      `${progressOf(p)}` +
      ` (since ${p.since})\n`
  }
  return out
}

function progressOf(p: StatusPeer): string {
  if (p.feeds === 0) return 'no feeds exchanged yet'
  if (p.blocksToReceive === 0 && p.blocksToSend === 0) return 'in sync'
  return `${plural(p.blocksToReceive, 'block')} to receive, ${plural(p.blocksToSend, 'block')} to send`
}
