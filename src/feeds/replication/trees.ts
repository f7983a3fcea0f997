/**
 * Feeds' Merkle trees in replication: the tree hash an offer carries, the proofs that back it, and
 * the fork guard. A writer that signs two histories is a fork: a peer proves one by a tree its
 * writer signed that is not ours at the same length.
 *
 * Hypercore (pinned at 11.37.1) checks for forks itself when a peer's data fails to verify — and
 * then prints "conflict detected" on stdout (the protocol stream of `hyperkv sync`), freezes the
 * core on disk for good and closes every session of it. `guardForks` answers that check before
 * Hypercore does, with Hypercore's own public proof API, so a fork is reported to us instead and
 * the core goes on serving and reading the history it holds (docs/DESIGN.md, "Forks").
 */
import type Hypercore from 'hypercore'
import type { HypercorePeer, Proof } from 'hypercore'
import crypto from 'hypercore-crypto'
import {
  conflictChecking,
  encodedManifest,
  heldTree,
  internalConflictChecking,
  verifyDetachedTree,
  type ConflictChecking,
} from '../dependency-internals.js'
import { EMPTY_TREE_HASH, type TreeMessage } from '../messages.js'

/** The newest tree hash computed per core session (offers ask for the same one again and again). */
const cached = new WeakMap<Hypercore, { length: number; fork: number; hash: Buffer }>()

/**
 * The Merkle tree hash of `core` at `length` (≤ its signed length), from the roots a proof
 * carries: unlike `core.treeHash()`, this needs no block, only the tree nodes stored with the
 * signed length — and at the core's own length, not even those (the roots are in memory).
 */
export async function treeHashAt(core: Hypercore, length: number): Promise<Buffer> {
  if (length === 0) return EMPTY_TREE_HASH
  const hit = cached.get(core)
  if (hit && hit.length === length && hit.fork === core.fork) return hit.hash
  // At the signed length the roots are in memory: a new length (a live append) reads no storage.
  const held = length === core.length ? heldTree(core) : null
  if (held !== null) {
    const hash = crypto.tree(held.roots)
    cached.set(core, { length, fork: held.fork, hash })
    return hash
  }
  const fork = core.fork
  const proof = await core.proof({ upgrade: { start: 0, length } })
  const hash = crypto.tree(proof.upgrade!.nodes)
  if (length === core.length && fork === core.fork) cached.set(core, { length, fork, hash })
  return hash
}

/**
 * Our tree at `length` as a tree message (the answer to a peer's tree request), with the core's
 * manifest when `withManifest` (throws when it has none to send). At the core's own length it is
 * the roots and signature the core holds in memory, as its proof would read them.
 */
export async function treeMessageOf(
  core: Hypercore,
  length: number,
  withManifest = false,
): Promise<TreeMessage> {
  const manifest = withManifest ? encodedManifest(core) : Buffer.alloc(0)
  if (manifest === null) throw new Error(`core ${core.id} has no manifest to send`)
  const held = length === core.length ? heldTree(core) : null
  if (held !== null) {
    const { fork, roots, signature } = held
    return { key: core.key, length, fork, nodes: roots, additionalNodes: [], signature, manifest }
  }
  const proof = await core.proof({ upgrade: { start: 0, length } })
  const upgrade = proof.upgrade!
  return {
    key: core.key,
    length,
    fork: proof.fork,
    nodes: upgrade.nodes,
    additionalNodes: upgrade.additionalNodes,
    signature: upgrade.signature ?? Buffer.alloc(0),
    manifest,
  }
}

/** The fully remote proof a tree message carries. */
function proofOf(tree: TreeMessage): Proof {
  return {
    fork: tree.fork,
    block: null,
    hash: null,
    seek: null,
    upgrade: {
      start: 0,
      length: tree.length,
      nodes: tree.nodes,
      additionalNodes: tree.additionalNodes,
      signature: tree.signature,
    },
    manifest: null,
  }
}

/**
 * The tree hash a peer's tree message with its manifest proves for the feed `key`, which no core
 * here holds: null when the manifest is not `key`'s or its writer's signature does not verify;
 * undefined when this Hypercore cannot tell without a core (dependency-internals.ts).
 */
export function provenDetachedTreeHash(key: Buffer, tree: TreeMessage): Buffer | null | undefined {
  if (tree.length === 0 || tree.nodes.length === 0 || !tree.key.equals(key)) return null
  const verified = verifyDetachedTree(key, tree.manifest, proofOf(tree))
  if (verified === undefined) return undefined
  return verified === false ? null : crypto.tree(tree.nodes)
}

/**
 * The tree hash a peer's tree message proves for `core`'s writer, or null when its signature does
 * not verify against that writer (or the message is malformed).
 */
export async function provenTreeHash(core: Hypercore, tree: TreeMessage): Promise<Buffer | null> {
  if (tree.length === 0 || tree.nodes.length === 0) return null
  try {
    await core.verifyFullyRemote(proofOf(tree))
  } catch {
    return null
  }
  return crypto.tree(tree.nodes)
}

export interface ForkHandler {
  /** A peer proved a conflicting tree at `length`: its writer signed two histories. */
  fork(length: number, from: HypercorePeer | null): void
  /** A check of a peer's tree (after its data failed to verify) found no fork. */
  checked(from: HypercorePeer | null): void
}

/**
 * Opens a session of ours on an internal core whose fork check found none of ours open (the
 * caller releases it), or resolves null when the core is not one of its feeds.
 */
export type SessionOpener = (
  internal: ConflictChecking,
) => Promise<{ readonly core: Hypercore; release(): void } | null>

/** Per internal core: the open sessions that asked to hear about forks and checks, and the openers. */
interface Guard {
  readonly handlers: Map<Hypercore, ForkHandler>
  readonly openers: Set<SessionOpener>
  /** Hypercore's own check: for a core none of ours holds (another user of a given Corestore). */
  readonly original: ConflictChecking['checkConflict']
}

const guards = new WeakMap<object, Guard>()

/** The guard of `internal`, its fork check answered by us from now on. */
function guardOf(internal: ConflictChecking): Guard {
  let guard = guards.get(internal)
  if (!guard) {
    const own: Guard = {
      handlers: new Map(),
      openers: new Set(),
      original: internal.checkConflict.bind(internal),
    }
    guard = own
    guards.set(internal, own)
    internal.checkConflict = (proof, from) => checkConflict(own, internal, proof, from)
  }
  return guard
}

/**
 * Answers Hypercore's fork check on `session`'s core from now on (once per core; each session
 * adds its handler). Returns false when this Hypercore has no such check to answer.
 */
export function guardForks(session: Hypercore, onFork: ForkHandler): boolean {
  const internal = conflictChecking(session)
  if (internal === null) return false
  const { handlers } = guardOf(internal)
  handlers.set(session, onFork)
  session.once('close', () => handlers.delete(session))
  return true
}

/**
 * Answers the fork check of an internal core from the moment it is created (Corestore's `watch`):
 * Corestore opens a stored core by itself when a peer asks for it, and Hypercore upgrades it
 * eagerly, so its fork check can run before any session of ours is open. `open` then opens one,
 * whose handlers hear the verdict.
 */
export function guardCore(core: unknown, open: SessionOpener): void {
  const internal = internalConflictChecking(core)
  if (internal === null) return
  const { openers } = guardOf(internal)
  openers.add(open)
}

/** A session of ours on the guarded core: one already open, or one an opener opens. */
async function sessionFor(
  guard: Guard,
  internal: ConflictChecking,
): Promise<{ readonly core: Hypercore; release(): void } | null> {
  const open = [...guard.handlers.keys()].find((s) => s.opened && !s.closed)
  if (open) return { core: open, release: () => undefined }
  for (const opener of guard.openers) {
    const lease = await opener(internal).catch(() => null)
    if (lease) return lease
  }
  return null
}

/**
 * Hypercore's contract: true when the proof is handled (a conflict, or not worth trusting: the
 * peer stays paused for this core), false when it shows no conflict (the peer is unpaused).
 */
async function checkConflict(
  guard: Guard,
  internal: ConflictChecking,
  proof: Proof,
  from: HypercorePeer | null,
): Promise<boolean> {
  const lease = proof?.upgrade ? await sessionFor(guard, internal) : null
  if (lease === null && guard.handlers.size === 0) return guard.original(proof, from)
  try {
    return await checkWith(guard.handlers, lease?.core ?? null, proof, from)
  } finally {
    lease?.release()
  }
}

async function checkWith(
  handlers: Map<Hypercore, ForkHandler>,
  session: Hypercore | null,
  proof: Proof,
  from: HypercorePeer | null,
): Promise<boolean> {
  const upgrade = proof?.upgrade
  const verdict = (handled: boolean) => {
    for (const [s, handler] of handlers) if (!s.closed) handler.checked(from)
    return handled
  }
  if (!session || !upgrade || upgrade.start !== 0) return verdict(true)
  // A proof beyond what we hold, or of another fork, says nothing about our history.
  if (upgrade.length === 0 || upgrade.length > session.length || proof.fork !== session.fork) {
    return verdict(false)
  }
  let theirs: Buffer | null
  let ours: Buffer
  try {
    theirs = await provenTreeHash(session, {
      key: session.key,
      length: upgrade.length,
      fork: proof.fork,
      nodes: upgrade.nodes,
      additionalNodes: upgrade.additionalNodes,
      signature: upgrade.signature ?? Buffer.alloc(0),
      manifest: Buffer.alloc(0),
    })
    ours = await treeHashAt(session, upgrade.length)
  } catch {
    return verdict(true)
  }
  const forked = theirs !== null && !theirs.equals(ours)
  for (const [s, handler] of handlers) {
    if (s.closed) continue
    if (forked) handler.fork(upgrade.length, from)
    else handler.checked(from)
  }
  return theirs === null || forked
}
