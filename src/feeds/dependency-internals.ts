/**
 * Every undocumented internal of a dependency kappadb relies on, in one place (Hypercore 11.37.1,
 * hypercore-storage, protomux, @hyperswarm/secret-stream, all pinned). Each accessor checks the
 * shape it reads and degrades to a documented fallback when it is missing, and
 * test/feeds/dependency-internals.test.ts pins each assumption: an upgrade that breaks one fails
 * that test, not a user.
 */
import { createRequire } from 'node:module'
import type Hypercore from 'hypercore'
import type { HypercorePeer, Proof } from 'hypercore'

/** Hypercore-storage's read batch: several block reads in one storage round trip. */
export interface StorageReadBatch {
  getBlock(index: number): Promise<Buffer | null>
  tryFlush(): void
}

/** Hypercore-storage's write batch: several writes applied at once. */
interface StorageWriteBatch {
  putUserData(key: string, value: Buffer): void
  deleteUserData(key: string): void
  flush(): Promise<unknown>
}

interface SessionState {
  storage?: {
    read?: () => StorageReadBatch
    write?: () => StorageWriteBatch
    createUserDataStream?: (opts?: object) => AsyncIterable<{ key: string; value: Buffer | null }>
    store?: { path?: unknown }
  }
  length?: unknown
  fork?: unknown
  roots?: unknown
  signature?: unknown
}

function stateOf(core: Hypercore): SessionState | undefined {
  return (core as unknown as { state?: SessionState | null }).state ?? undefined
}

/**
 * A read batch of `core`'s storage (`core.state.storage.read()`), or null when this Hypercore has
 * none: the caller then reads block by block with `core.get`.
 */
export function storageReadBatch(core: Hypercore): StorageReadBatch | null {
  const storage = stateOf(core)?.storage
  if (typeof storage?.read !== 'function') return null
  return storage.read()
}

/**
 * The directory `core` is stored in (`core.state.storage.store.path`), or null when unknown: the
 * free-space check is then skipped.
 */
export function storageDirectory(core: Hypercore): string | null {
  const dir = stateOf(core)?.storage?.store?.path
  return typeof dir === 'string' ? dir : null
}

/**
 * Every user data entry of `core` (`core.state.storage.createUserDataStream()`): Hypercore offers
 * `getUserData(key)` for one key, and no public way to list them. Throws when the stream is missing.
 */
export async function userDataEntries(core: Hypercore): Promise<Array<{ key: string; value: Buffer }>> {
  const storage = stateOf(core)?.storage
  if (typeof storage?.createUserDataStream !== 'function') {
    throw new Error('this Hypercore cannot list its user data')
  }
  const entries: Array<{ key: string; value: Buffer }> = []
  for await (const entry of storage.createUserDataStream()) {
    if (entry.value !== null) entries.push({ key: entry.key, value: entry.value })
  }
  return entries
}

/**
 * Stores user data entries of `core` (null: deleted) in one storage write batch
 * (`core.state.storage.write()`, as Hypercore's own `setUserData` does for one). Hypercore's
 * `setUserData` takes one entry, and first reads it back to skip writing what is there: a second
 * storage round trip, for a caller that writes each value once. Falls back to `setUserData` per
 * entry.
 */
export async function writeUserData(
  core: Hypercore,
  entries: ReadonlyArray<readonly [string, Buffer | null]>,
): Promise<void> {
  if (!core.opened) await core.ready()
  const storage = stateOf(core)?.storage
  if (typeof storage?.write !== 'function') {
    for (const [key, value] of entries) await core.setUserData(key, value)
    return
  }
  const tx = storage.write()
  for (const [key, value] of entries) {
    if (value === null) tx.deleteUserData(key)
    else tx.putUserData(key, value)
  }
  await tx.flush()
}

/** A Merkle tree node as Hypercore holds it. */
interface TreeNode {
  index: number
  size: number
  hash: Buffer
}

/** The signed tree a session holds in memory: the roots at its length, and the writer's signature. */
export interface HeldTree {
  length: number
  fork: number
  roots: TreeNode[]
  signature: Buffer
}

/**
 * The signed tree `core` holds in memory at its length (`core.state`: `roots`, `fork`,
 * `signature`) — what `core.proof({ upgrade: { start: 0, length: core.length } })` reads from
 * storage, without a storage round trip. Null when `core` is empty, has no signature, or the state
 * is not of that shape (the roots must be the full roots of its length); the caller then reads the
 * proof.
 */
export function heldTree(core: Hypercore): HeldTree | null {
  const state = stateOf(core)
  if (!state) return null
  const { length, fork, roots, signature } = state
  if (
    typeof length !== 'number' ||
    length === 0 ||
    length !== core.length ||
    fork !== core.fork ||
    !Buffer.isBuffer(signature) ||
    signature.byteLength === 0 ||
    !Array.isArray(roots)
  ) {
    return null
  }
  const indexes = fullRoots(length)
  if (roots.length !== indexes.length) return null
  for (let i = 0; i < roots.length; i++) {
    const node = roots[i] as Partial<TreeNode> | null
    if (
      node?.index !== indexes[i] ||
      typeof node.size !== 'number' ||
      !Buffer.isBuffer(node.hash) ||
      node.hash.byteLength !== 32
    ) {
      return null
    }
  }
  return { length, fork: core.fork, roots: (roots as TreeNode[]).slice(), signature }
}

/**
 * The flat-tree indexes of the roots of a tree of `length` leaves: one per set bit, largest first
 * (the subtree over leaves [s, s + 2^d) has index 2s + 2^d - 1).
 */
function fullRoots(length: number): number[] {
  const indexes: number[] = []
  let start = 0
  for (let width = 2 ** Math.floor(Math.log2(length)); width >= 1; width /= 2) {
    if (start + width > length) continue
    indexes.push(2 * start + width - 1)
    start += width
  }
  return indexes
}

/**
 * Messages protomux holds corked on `noise`'s muxer (`noise.userData.corked`; 0 without a muxer):
 * a batch written after the stream's end is lost, so the end waits until this is 0.
 */
export function corkedMessages(noise: { userData?: unknown }): number {
  const corked = (noise.userData as { corked?: unknown } | null | undefined)?.corked
  return typeof corked === 'number' ? corked : 0
}

/** The Noise stream a Hypercore peer (a `'download'`/`'upload'` event's `from`) is on, or null. */
export function streamOfPeer(from: unknown): object | null {
  if (from === null || typeof from !== 'object') return null
  const stream = (from as { stream?: unknown }).stream
  return typeof stream === 'object' && stream !== null ? stream : null
}

/** The signed length the peer on `stream` told `core` it has (a replicator peer's `remoteLength`; 0: not said). */
export function peerSignedLength(core: Hypercore, stream: unknown): number {
  const peer = core.peers.find((p) => (p as { stream?: unknown }).stream === stream)
  const length = (peer as { remoteLength?: unknown } | undefined)?.remoteLength
  return typeof length === 'number' ? length : 0
}

/** The contiguous length the peer on `stream` told `core` it has (0: not said, or no such peer). */
export function peerContiguousLength(core: Hypercore, stream: unknown): number | null {
  const peer = core.peers.find((p) => (p as { stream?: unknown }).stream === stream)
  if (!peer) return null
  const length = (peer as { remoteContiguousLength?: unknown }).remoteContiguousLength
  return typeof length === 'number' ? length : 0
}

/** Hypercore's fork check, on the internal core every session of one key shares. */
export interface ConflictChecking {
  checkConflict(proof: Proof, from: HypercorePeer | null): Promise<boolean>
}

/**
 * The internal core behind `session` (`session.core`), whose `checkConflict` Hypercore calls when
 * a peer's data fails to verify; null when this Hypercore has no such check (forks are then only
 * found by offers' tree hashes).
 */
export function conflictChecking(session: Hypercore): ConflictChecking | null {
  return internalConflictChecking((session as unknown as { core?: unknown }).core)
}

/**
 * An internal core (what Corestore's `watch` hands out, or a session's `core`) as one whose fork
 * check can be answered; null when it has no `checkConflict`.
 */
export function internalConflictChecking(internal: unknown): ConflictChecking | null {
  if (internal === null || typeof internal !== 'object') return null
  if (typeof (internal as Partial<ConflictChecking>).checkConflict !== 'function') return null
  return internal as ConflictChecking
}

interface ChannelMaking {
  createChannel(opts: { protocol: string; id?: Buffer | null }): unknown
  getLastChannel?(opts: { protocol: string; id?: Buffer | null }): unknown
}

/**
 * From now on `mux` creates no channel of `protocol` whose id `allow` refuses (`createChannel`
 * returns null, as protomux does for a duplicate): every way a core channel comes to be — a core
 * attached by Corestore when it opens or when the peer asks for it — goes through it, and Hypercore
 * attaches no peer without a channel. Protomux has no hook for it: the muxer's own `createChannel`
 * is wrapped. False when it has none.
 */
export function gateChannels(mux: object, protocol: string, allow: (id: Buffer) => boolean): boolean {
  const making = mux as ChannelMaking
  const create = making.createChannel
  if (typeof create !== 'function') return false
  making.createChannel = function gated(opts) {
    if (opts && opts.protocol === protocol && opts.id && !allow(opts.id)) return null
    return create.call(this, opts)
  }
  return true
}

/**
 * Closes the channel of `protocol` and `id` on `mux` (`mux.getLastChannel`), if one is open: for a
 * core channel, nothing more of that core moves on that connection either way. False when none.
 */
export function closeChannel(mux: object, protocol: string, id: Buffer): boolean {
  const getLast = (mux as ChannelMaking).getLastChannel
  if (typeof getLast !== 'function') return false
  const channel = getLast.call(mux, { protocol, id }) as { closed?: unknown; close?: unknown } | null
  if (!channel || channel.closed === true || typeof channel.close !== 'function') return false
  ;(channel.close as () => void).call(channel)
  return true
}

/**
 * Attaches `session`'s core to the muxer `mux` again (`session.core.replicator.detachFrom` then
 * `attachTo`): a core channel closed on one connection is reopened there. Hypercore's public
 * `replicate(stream)` does nothing for a muxer it attached once. False when the internals are missing.
 */
export function reattachCore(session: Hypercore, mux: object): boolean {
  const replicator = (session as unknown as { core?: { replicator?: unknown } | null }).core?.replicator as
    { detachFrom?: unknown; attachTo?: unknown } | undefined
  if (
    !replicator ||
    typeof replicator.detachFrom !== 'function' ||
    typeof replicator.attachTo !== 'function'
  ) {
    return false
  }
  ;(replicator.detachFrom as (m: object) => void).call(replicator, mux)
  ;(replicator.attachTo as (m: object) => void).call(replicator, mux)
  return true
}

/** The key of an open internal core (`core.key`, read from its header at open), or null. */
export function internalCoreKey(internal: ConflictChecking): Buffer | null {
  const key = (internal as unknown as { key?: unknown }).key
  return Buffer.isBuffer(key) ? key : null
}

/**
 * `core`'s manifest in Hypercore's own encoding (`core.getManifest({ raw: true })`), the bytes its
 * key is the hash of; null when the core has none or this Hypercore cannot encode it (a feed not
 * held yet is then not proven to the peer, which takes it as unprovable).
 */
export function encodedManifest(core: Hypercore): Buffer | null {
  const get = (core as unknown as { getManifest?: unknown }).getManifest
  if (typeof get !== 'function') return null
  try {
    const raw = (get as (opts: { raw: boolean }) => unknown).call(core, { raw: true })
    return raw instanceof Uint8Array ? Buffer.from(raw) : null
  } catch {
    return null
  }
}

interface ManifestVerifier {
  verify(batch: unknown, signature: Buffer | null): boolean
}

interface VerifierModule {
  new (key: Buffer, manifest: object, opts?: { legacy?: boolean }): ManifestVerifier
  decodeManifest(bytes: Buffer): { prologue?: unknown } | null
  isValidManifest(key: Buffer, manifest: object): boolean
  isCompat(key: Buffer, manifest: object): boolean
}

interface TreeBatch {
  length: number
  signature: Buffer | null
  hash(): Buffer
}

interface MerkleTreeModule {
  MerkleTree: { verifyFullyRemote(session: object, proof: Proof): TreeBatch }
}

const load = createRequire(import.meta.url)

/** The modules `hypercoreLib` loaded (resolving one costs file system lookups: once per process). */
const libs = new Map<string, unknown>()

/** A CommonJS module of Hypercore's `lib`, or null when this Hypercore has none of that shape. */
function hypercoreLib<M>(path: string, check: (m: M) => boolean): M | null {
  if (!libs.has(path)) {
    let m: M | null
    try {
      m = load(`hypercore/lib/${path}`) as M
    } catch {
      m = null
    }
    libs.set(path, m !== null && check(m) ? m : null)
  }
  return libs.get(path) as M | null
}

/** What a tree proof of a core held nowhere here proves. */
export interface DetachedTree {
  /** The signed length the writer's signature is for (≥ the proof's length). */
  signedLength: number
}

/**
 * Checks a fully remote tree proof (`core.proof({ upgrade: { start: 0, length } })`) of the core
 * with key `key` without any core of it here: `manifest` (Hypercore's encoding) must hash to `key`
 * (or be a version-0 manifest whose one signer is the key), and the writer's signature in the
 * proof must verify over the tree it proves. Hypercore has no public way to verify a proof
 * without a core: its manifest verifier (`hypercore/lib/verifier.js`) and the batch its Merkle tree
 * builds of a fully remote proof (`hypercore/lib/merkle-tree.js`, as `core.verifyFullyRemote`
 * does) are used. Resolves false when it does not verify, undefined when this Hypercore lacks
 * either (the caller then proves the feed by opening its core).
 */
export function verifyDetachedTree(
  key: Buffer,
  manifest: Buffer,
  proof: Proof,
): DetachedTree | false | undefined {
  const Verifier = hypercoreLib<VerifierModule>(
    'verifier.js',
    (m) => typeof m === 'function' && typeof m.decodeManifest === 'function',
  )
  const tree = hypercoreLib<MerkleTreeModule>(
    'merkle-tree.js',
    (m) => typeof m?.MerkleTree?.verifyFullyRemote === 'function',
  )
  if (Verifier === null || tree === null) return undefined
  const upgrade = proof.upgrade
  if (upgrade === null || upgrade.start !== 0 || upgrade.length === 0 || upgrade.nodes.length === 0)
    return false
  try {
    const parsed = Verifier.decodeManifest(manifest)
    if (!parsed || !(Verifier.isValidManifest(key, parsed) || Verifier.isCompat(key, parsed))) return false
    // An empty tree to grow from, as Hypercore's own fully remote verification starts with.
    const empty = {
      fork: 0,
      roots: [],
      length: 0,
      signature: null,
      byteLength: 0,
      prologue: parsed.prologue ?? null,
      storage: null,
    }
    const batch = tree.MerkleTree.verifyFullyRemote(empty, proof)
    if (batch.length < upgrade.length) return false
    if (!new Verifier(key, parsed).verify(batch, batch.signature)) return false
    return { signedLength: batch.length }
  } catch {
    return false
  }
}
