/**
 * `log.replicate(…)`: the kappa's replication stream (every writer's log), plus what the DAG needs
 * before a non-live replication may end: the DAG view has indexed what arrived, no node of it
 * has a value that does not decode (else the stream fails with `ERR_PROTOCOL`) and none failed
 * `verify` (else `ERR_INVALID_SIGNATURE`).
 */
import type { Duplex } from 'node:stream'
import { KappaError } from '../errors.js'
import type { AcceptHook, ReplicationMode, ReplicationStream, ShareHook } from '../feeds/types.js'
import type { Kappa } from '../kappa/index.js'
import type { SignableNode } from './types.js'

export interface HyperlogReplicateOptions {
  /** push: only send; pull: only receive; sync (default): both. push+push and pull+pull fail. */
  mode?: ReplicationMode
  /** Keep replicating new nodes as they come (default false). */
  live?: boolean
  /** Give up a non-live replication that makes no progress for this long (ms). */
  timeout?: number
  /** Fail a live replication whose peer sends nothing, keep-alives included, for this long (ms, default 60,000). */
  liveTimeout?: number
  /**
   * An object-mode transform every node this replication brings passes through before it is
   * indexed (hyperlog's `process`): a node it passes on is indexed; one it drops, or an error, refuses
   * the node like a failed `verify` (the replication then fails with `ERR_INVALID_SIGNATURE`).
   */
  process?: Duplex
  /** Offer and serve this writer's log to this peer? Default: the store's `policy.share`, else yes. */
  share?: ShareHook
  /**
   * Take this writer's log from this peer? Default: the store's `policy.accept`, else yes. A
   * sparse answer (`{ start }` past 0) is taken as no: a DAG needs every node of a log.
   */
  accept?: AcceptHook
}

export interface ReplicationDeps {
  kappa: Kappa
  /** Resolves once the DAG view has indexed every entry present now. */
  indexed: () => Promise<void>
  /** Resolves once every acknowledged local node is in the writer's feed (so this replication sends it). */
  flushed: () => Promise<void>
  /** How many replicated nodes failed `verify` (or `process`) so far. */
  verifyFailures: () => number
  /** How many of those were refused because their value does not decode. */
  malformedNodes: () => number
  /** Registers a `process` check for the life of the stream; returns its removal. */
  addProcessor: (processor: (node: SignableNode) => Promise<boolean>) => () => void
}

const MODES: readonly string[] = ['sync', 'push', 'pull']

export function startReplication(
  deps: ReplicationDeps,
  isInitiator: boolean | Duplex | HyperlogReplicateOptions | undefined,
  opts: HyperlogReplicateOptions | undefined,
): { stream: ReplicationStream; live: boolean } {
  let init = isInitiator
  let options = opts
  // hyperlog's call shape: replicate({ mode, live }).
  if (init !== null && typeof init === 'object' && !isStream(init) && options === undefined) {
    options = init
    init = undefined
  }
  const { mode, live, timeout, liveTimeout, process, share, accept } = checkOptions(options ?? {})
  if (init !== undefined && typeof init !== 'boolean' && !isStream(init)) {
    throw KappaError.invalid('isInitiator must be a boolean or a stream')
  }
  const failuresBefore = deps.verifyFailures()
  const malformedBefore = deps.malformedNodes()
  const beforeDone = async (): Promise<void> => {
    await deps.indexed()
    if (deps.malformedNodes() > malformedBefore) {
      throw new KappaError('ERR_PROTOCOL', 'a replicated node value does not decode')
    }
    if (deps.verifyFailures() > failuresBefore) {
      throw new KappaError('ERR_INVALID_SIGNATURE', 'a replicated node failed verification')
    }
  }
  const stream = deps.kappa.replicate(init as boolean | Duplex | undefined, {
    mode,
    live,
    timeout,
    liveTimeout,
    beforeDone,
    beforeHello: deps.flushed,
    beforeCaughtUp: deps.indexed,
    share,
    accept: wholeFeedsOnly(accept ?? deps.kappa.multifeed.policy.accept),
  })
  if (process) {
    const remove = deps.addProcessor(processorOf(process))
    stream.once('close', remove)
  }
  return { stream, live }
}

/**
 * The accept hook a log replicates with: the given one (or the store's default), but a sparse
 * answer is no — a log taken from `start` on would leave the nodes below it missing for ever,
 * and every node linking them waiting. Undefined (no hook): every feed is taken whole.
 */
function wholeFeedsOnly(accept: AcceptHook | undefined): AcceptHook | undefined {
  if (!accept) return undefined
  return (offer, peer) => {
    const answer = accept(offer, peer)
    if (answer !== null && typeof answer === 'object' && answer.start !== 0) return false
    return answer
  }
}

/** Feeds one node at a time through `transform`; true when it came out the other side. */
function processorOf(transform: Duplex): (node: SignableNode) => Promise<boolean> {
  let passed = 0
  transform.on('data', () => passed++)
  // An error refuses the node being processed (through the write callback); never crash.
  transform.on('error', () => {})
  return (node) =>
    new Promise((resolve) => {
      const before = passed
      if (transform.destroyed || transform.writableEnded) return resolve(false)
      transform.write(node, (err) => {
        // A transform may push its output after calling back: give it one turn of the loop.
        setImmediate(() => resolve(!err && passed > before))
      })
    })
}

function isStream(value: object): value is Duplex {
  return typeof (value as { pipe?: unknown }).pipe === 'function'
}

function checkOptions(
  opts: HyperlogReplicateOptions,
): Required<Pick<HyperlogReplicateOptions, 'mode' | 'live'>> &
  Pick<HyperlogReplicateOptions, 'timeout' | 'liveTimeout' | 'process' | 'share' | 'accept'> {
  if (opts === null || typeof opts !== 'object')
    throw KappaError.invalid('replicate options must be an object')
  const mode = opts.mode ?? 'sync'
  if (!MODES.includes(mode)) throw KappaError.invalid(`replication mode must be sync, push or pull`)
  if (opts.live !== undefined && typeof opts.live !== 'boolean')
    throw KappaError.invalid('live must be a boolean')
  for (const name of ['timeout', 'liveTimeout'] as const) {
    const value = opts[name]
    if (value !== undefined && (typeof value !== 'number' || !(value > 0))) {
      throw KappaError.invalid(`${name} must be a positive number of milliseconds`)
    }
  }
  if (opts.process !== undefined && (opts.process === null || !isStream(opts.process))) {
    throw KappaError.invalid('process must be an object-mode transform stream')
  }
  for (const name of ['share', 'accept'] as const) {
    if (opts[name] !== undefined && typeof opts[name] !== 'function')
      throw KappaError.invalid(`${name} must be a function`)
  }
  const { timeout, liveTimeout, process, share, accept } = opts
  return { mode, live: opts.live === true, timeout, liveTimeout, process, share, accept }
}
