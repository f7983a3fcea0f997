/**
 * `join [TOPIC] [--bootstrap host:port,...]`: live replication with every peer found on TOPIC (or,
 * without one, on the topic of the database key) until the command is stopped. The swarm identity
 * is this directory's peer key (DIR/peer.key), so peers see the same peer across runs.
 *
 * A peer counts as connected once its replication is under way (its feed list arrived): a
 * connection whose replication never starts (one Hyperswarm kept of two the peers opened at once,
 * while the peer kept the other) is no peer to report.
 */
import { once } from 'node:events'
import { BOOTSTRAP_ENV, parseBootstrap, resolveBootstrap, type BootstrapInput } from '../../net/bootstrap.js'
import { isKappaError, KappaError } from '../../errors.js'
import { OPEN_DATABASE_KEY } from '../../feeds/index.js'
import type { Prepare } from '../context.js'
import { UsageError } from '../errors.js'
import { peerKeyPair } from '../identity.js'
import { plural, ProgressTicker, ReceivedNodes } from '../progress.js'
import { holderStopped } from '../stop.js'
import { messageOf } from '../../util/errors.js'

export const prepareJoin: Prepare = (inv, env) => {
  const [name] = inv.args as [string | undefined]
  if (name === '') throw new UsageError('join: TOPIC must not be empty', 'join')
  const bootstrap = checkBootstrap(inv.options.bootstrap, true)
  if (bootstrap === undefined) checkBootstrap(env[BOOTSTRAP_ENV], false)
  return async (kv, ctx) => {
    const { io, signal, progress, host } = ctx
    if (host.swarm) {
      throw new KappaError(
        'ERR_LOCKED',
        `${ctx.dir} is joined already (topic ${host.swarm.topic.slice(0, 8)}…) by hyperkv process ${host.pid}`,
      )
    }
    const databaseKey = kv.key
    if (name === undefined && databaseKey.equals(OPEN_DATABASE_KEY)) {
      // The open key's topic is everyone's: every hyperkv directory never initialised would meet there.
      throw new UsageError(
        `join: ${ctx.dir} has the open key, which every hyperkv shares; give a TOPIC, or make a database with its own key (hyperkv -d NEWDIR init) and join without one`,
        'join',
      )
    }
    // Hyperswarm is loaded only by the command that needs it.
    const { join, topicFromKey } = await import('../../net/index.js')
    const keyPair = await peerKeyPair(host.dir)
    const nodes = new ReceivedNodes(kv)
    /** Peers reported connected: their replication got under way, and the swarm has not lost them. */
    const reported = new Set<string>()
    const short = (id: string): string => id.slice(0, 8)
    const swarm = join(name ?? topicFromKey(databaseKey), {
      env: io.env,
      keyPair,
      ...(bootstrap ? { bootstrap } : {}),
      replicate: (socket, peer) => {
        const stream = kv.log.replicate(socket, { live: true })
        const disconnect = host.connect(peer.id, 'swarm', stream)
        stream.once('close', disconnect)
        stream.once('remote-feeds', () => {
          if (reported.has(peer.id) || swarm.closed) return
          reported.add(peer.id)
          progress(`peer ${short(peer.id)} connected (${plural(reported.size, 'peer')})`)
        })
        return stream
      },
    })
    // Gone when the swarm says so: it tells a peer that left from one whose connection it swapped
    // for a duplicate (the replication restarts on the new one; the peer never left).
    swarm.on('disconnection', (peer, err) => {
      if (!reported.delete(peer.id)) return
      const why = err && isKappaError(err) ? `: ${err.code}` : ''
      progress(`peer ${short(peer.id)} left${why} (${plural(reported.size, 'peer')})`)
    })
    const topic = swarm.topic.toString('hex')
    const peerId = keyPair.publicKey.toString('hex')
    host.swarm = { topic, peerId, bootstrapState: () => swarm.bootstrapState }
    const nodesList = bootstrapList(bootstrap, io.env)
    let offline = false
    swarm.on('offline', () => {
      offline = true
      ctx.warn(`no DHT bootstrap node answers (${nodesList}): no peers can be found; still trying`)
    })
    swarm.on('online', () => {
      if (offline) progress('a DHT bootstrap node answers again: looking for peers')
      offline = false
    })
    let counted = 0
    const ticker = new ProgressTicker(() => {
      const received = nodes.total
      if (received === counted) return null
      const line = `received ${plural(received - counted, 'node')} (${plural(kv.log.changes, 'node')} in total)`
      counted = received
      return line
    }, progress)
    progress(
      `joined topic ${topic}${name === undefined ? ' (from the database key)' : ''} as peer ${short(peerId)}`,
    )
    try {
      if (!signal.aborted) await once(signal, 'abort')
    } finally {
      host.swarm = null
      await swarm.leave()
      ticker.stop()
      nodes.stop()
    }
    const stopped = holderStopped(signal, ctx.dir)
    if (stopped) throw stopped
    progress('left the topic')
  }
}

function checkBootstrap(
  value: string | boolean | undefined,
  fromOption: boolean,
): BootstrapInput | undefined {
  if (typeof value !== 'string' || (!fromOption && value.trim() === '')) return undefined
  try {
    parseBootstrap(value)
    return value
  } catch (err) {
    const what = fromOption ? '--bootstrap' : '$HYPERKV_BOOTSTRAP'
    throw new UsageError(`join: ${what}: ${messageOf(err)}`, 'join')
  }
}

/** The bootstrap nodes as the user set them, for the offline warning. */
function bootstrapList(
  option: BootstrapInput | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const nodes = resolveBootstrap(option, env)
  if (!nodes) return "Hyperswarm's public bootstrap nodes"
  return nodes.map((n) => `${n.host}:${n.port}`).join(', ')
}
