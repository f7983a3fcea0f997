/**
 * Every undocumented internal of a dependency kappadb relies on, in one place (Hypercore 11.37.1,
 * hypercore-storage, protomux, @hyperswarm/secret-stream, all pinned). Each accessor checks the
 * shape it reads and degrades to a documented fallback when it is missing, and
 * test/feeds/dependency-internals.test.ts pins each assumption: an upgrade that breaks one fails
 * that test, not a user.
 */
import type Hypercore from 'hypercore'
import type { HypercorePeer, Proof } from 'hypercore'

/** Hypercore-storage's read batch: several block reads in one storage round trip. */
export interface StorageReadBatch {
  getBlock(index: number): Promise<Buffer | null>
  tryFlush(): void
}

interface SessionState {
  storage?: {
    read?: () => StorageReadBatch
    createUserDataStream?: (opts?: object) => AsyncIterable<{ key: string; value: Buffer | null }>
    store?: { path?: unknown }
  }
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
  const internal = (session as unknown as { core?: Partial<ConflictChecking> | null }).core
  if (!internal || typeof internal.checkConflict !== 'function') return null
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
