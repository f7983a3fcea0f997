/**
 * `join [TOPIC] [--bootstrap host:port,...]`: live replication with every peer found on TOPIC (or,
 * without one, on the topic of the database key) until the command is stopped. The swarm identity
 * is this directory's peer key (DIR/peer.key), so peers see the same peer across runs.
 *
 * A peer counts as connected once its replication is under way (its feed list arrived), and as
 * gone when that replication ends: Hyperswarm may hold a connection to a peer that went away
 * until a timeout notices, and only a replication that runs is worth reporting.
 */
import { once } from 'node:events'
import { BOOTSTRAP_ENV, parseBootstrap, resolveBootstrap, type BootstrapInput } from '../../net/bootstrap.js'
import { isKappaError, KappaError } from '../../errors.js'
import type { Prepare } from '../context.js'
import { UsageError } from '../errors.js'
import { peerKeyPair } from '../identity.js'
import { plural, ProgressTicker, ReceivedNodes } from '../progress.js'
import { holderStopped } from '../stop.js'

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
    // Hyperswarm is loaded only by the command that needs it.
    const { join, topicFromKey } = await import('../../net/index.js')
    const keyPair = await peerKeyPair(host.dir)
    const nodes = new ReceivedNodes(kv)
    /** Peers whose replication runs, with how many streams each (a duplicate connection briefly). */
    const running = new Map<string, number>()
    const short = (id: string): string => id.slice(0, 8)
    const swarm = join(name ?? topicFromKey(kv.log.kappa.multifeed.key), {
      env: io.env,
      keyPair,
      ...(bootstrap ? { bootstrap } : {}),
      replicate: (socket, peer) => {
        const stream = kv.log.replicate(socket.isInitiator, { live: true })
        const disconnect = host.connect(peer.id, 'swarm', stream)
        let established = false
        let failure: Error | null = null
        stream.on('error', (err: Error) => {
          failure ??= err
        })
        stream.once('remote-feeds', () => {
          established = true
          const streams = (running.get(peer.id) ?? 0) + 1
          running.set(peer.id, streams)
          if (streams === 1) progress(`peer ${short(peer.id)} connected (${plural(running.size, 'peer')})`)
        })
        stream.once('close', () => {
          disconnect()
          if (!established) return
          const streams = (running.get(peer.id) ?? 1) - 1
          if (streams > 0) return void running.set(peer.id, streams)
          running.delete(peer.id)
          const why = failure && isKappaError(failure) ? `: ${failure.code}` : ''
          progress(`peer ${short(peer.id)} left${why} (${plural(running.size, 'peer')})`)
        })
        return stream
      },
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
    let reported = 0
    const ticker = new ProgressTicker(() => {
      const received = nodes.total
      if (received === reported) return null
      const line = `received ${plural(received - reported, 'node')} (${plural(kv.log.changes, 'node')} in total)`
      reported = received
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
    throw new UsageError(`join: ${what}: ${err instanceof Error ? err.message : String(err)}`, 'join')
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
