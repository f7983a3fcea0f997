/**
 * `join [TOPIC] [--bootstrap host:port,...]`: live replication with every peer found on TOPIC (or,
 * without one, on the topic of the database key) until the command is stopped.
 */
import { once } from 'node:events'
import { BOOTSTRAP_ENV, parseBootstrap, type BootstrapInput } from '../../net/bootstrap.js'
import { isKappaError } from '../../errors.js'
import type { Prepare } from '../context.js'
import { UsageError } from '../errors.js'
import { ReceivedCounter } from '../progress.js'

export const prepareJoin: Prepare = (inv, env) => {
  const [name] = inv.args as [string | undefined]
  if (name === '') throw new UsageError('join: TOPIC must not be empty', 'join')
  const bootstrap = checkBootstrap(inv.options.bootstrap, true)
  if (bootstrap === undefined) checkBootstrap(env[BOOTSTRAP_ENV], false)
  return async (kv, { io, signal, progress }) => {
    // Hyperswarm is loaded only by the command that needs it. `joinLive` is what kv.join() is.
    const { joinLive } = await import('../../net/join-live.js')
    const counter = new ReceivedCounter(kv, progress)
    const swarm = joinLive(kv.log, kv.log.kappa.multifeed.key, name, {
      env: io.env,
      ...(bootstrap ? { bootstrap } : {}),
    })
    const topic = swarm.topic
    const short = (id: string): string => id.slice(0, 8)
    swarm.on('connection', (peer) =>
      progress(`peer ${short(peer.id)} connected (${swarm.peers.length} peers)`),
    )
    swarm.on('disconnection', (peer, err) => {
      const why = err && isKappaError(err) ? `: ${err.code}` : ''
      progress(`peer ${short(peer.id)} left${why} (${swarm.peers.length} peers)`)
    })
    progress(`joined topic ${topic.toString('hex')}${name === undefined ? ' (from the database key)' : ''}`)
    try {
      if (!signal.aborted) await once(signal, 'abort')
    } finally {
      await swarm.leave()
      counter.stop()
    }
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
