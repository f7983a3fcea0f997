/**
 * `core.members`: the writer membership of an owned database. Membership records live in the
 * admins' membership logs, a second set of feeds (a sibling Multifeed, binary entries) beside the
 * data feeds: views never see them. An admin's membership log is signed by the key pair of its
 * data feed, so the log's key (the public key) names its author (`writerFeedKey`).
 *
 * Every change of the records (or of a log a pin waits for) folds the membership again; the core
 * then re-indexes its views when some feed counts fewer entries than before.
 */
import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { KappaError } from '../errors.js'
import type { Multifeed } from '../feeds/index.js'
import type { Feed, FeedKey, ReplicateOptions } from '../feeds/types.js'
import { writerFeedKey } from '../feeds/writer-key.js'
import {
  encodeRecord,
  foldMembership,
  readRecord,
  type HeldTrees,
  type Inclusion,
  type LogKind,
  type MemberInfo,
  type Membership,
  type MembershipOp,
  type MembershipRecord,
  type Role,
  type WriterKey,
} from '../membership/index.js'
import { withCallback, type Callback } from '../util/callback.js'
import { markHandled, safetyCatch, settled } from '../util/errors.js'

/** `membership` of `kappa(storage, { membership })`. */
export type MembershipOption = 'open' | { owner: true } | { owner: string }

export interface MembersEvents {
  /** The members, or how much of some writer's feed counts, changed. */
  change: []
}

/** One row of `members.list()`. */
export type MemberRow = MemberInfo & { key: WriterKey }

const LOG_NAME = 'membership'
const ALL: Inclusion = { state: 'all' }
const NONE: Inclusion = { state: 'none' }
const ZERO_HASH = Buffer.alloc(32)
const HEX_KEY = /^[0-9a-f]{64}$/

/** The membership logs' database key: derived from the data's, so both sides derive the same. */
export function membershipKeyOf(databaseKey: Buffer): Buffer {
  return createHash('sha256').update('kappadb membership logs\0').update(databaseKey).digest()
}

export function checkMembershipOption(value: unknown): MembershipOption {
  if (value === undefined || value === 'open') return 'open'
  if (value !== null && typeof value === 'object') {
    const owner = (value as { owner?: unknown }).owner
    if (owner === true) return { owner: true }
    if (typeof owner === 'string' && HEX_KEY.test(owner.toLowerCase())) return { owner: owner.toLowerCase() }
  }
  throw KappaError.invalid("membership must be 'open', { owner: true } or { owner: '<64 hex characters>' }")
}

export interface MembersHost<T> {
  multifeed: Multifeed<T>
  /** The local writer that is this store's writer (default: the default writer). */
  writerName?: string
  /** Called after every fold that changed something; resolves once the views caught up with it. */
  changed(): Promise<void>
  /** This store's writer was removed. */
  removed(): void
  /** A fold failed (reading a membership log); the next change folds again. */
  failed(err: Error): void
}

export class Members<T = unknown> extends EventEmitter<MembersEvents> {
  readonly #host: MembersHost<T>
  readonly #option: Exclude<MembershipOption, 'open'>
  readonly #logs: Multifeed<Buffer>
  #self: WriterKey | null = null
  #owner: WriterKey | null = null
  #writer: Feed<T> | null = null
  #log: Feed<Buffer> | null = null
  #membership: Membership | null = null
  /** Records read so far, by log feed. */
  readonly #records = new Map<FeedKey, Array<MembershipRecord | null>>()
  /** The membership log of each author whose log this store holds. */
  readonly #logOf = new Map<WriterKey, Feed<Buffer>>()
  readonly #watched = new Set<FeedKey>()
  #folding: Promise<void> = Promise.resolve()
  #again = false
  #removedTold = false
  /** Settles once the first fold is done: replication offers nothing before it. */
  readonly #opened: Promise<void>
  #markOpened: () => void = () => undefined
  /** The writer of each membership log, by the log's key. */
  readonly #authorOf = new Map<string, WriterKey>()

  constructor(host: MembersHost<T>, option: Exclude<MembershipOption, 'open'>) {
    super()
    this.#host = host
    this.#option = option
    this.#logs = host.multifeed.sibling<Buffer>({
      key: membershipKeyOf(host.multifeed.key),
      valueEncoding: 'binary',
      maxFeeds: host.multifeed.maxFeeds,
    })
    this.#opened = new Promise((resolve) => (this.#markOpened = resolve))
    // Replication follows the membership: non-members' feeds are neither taken nor served, a
    // removed writer's only below `upTo`; of the membership logs, only admins'.
    const settle = () => settled(this.#ready())
    host.multifeed.setGate((key) => this.#dataGate(key), { ready: this.#opened, settle })
    this.#logs.setGate((key) => this.#logGate(key), { ready: this.#opened, settle })
  }

  /** @internal The membership logs (the core's replication carries them `alongside` its data). */
  get logs(): Multifeed<Buffer> {
    return this.#logs
  }

  /** This store's writer key (the feed key of its writer, hex). */
  get self(): WriterKey {
    if (this.#self === null) throw KappaError.invalid('members are not open yet (await core.ready())')
    return this.#self
  }

  /** The owner's writer key (hex). */
  get owner(): WriterKey {
    if (this.#owner === null) throw KappaError.invalid('members are not open yet (await core.ready())')
    return this.#owner
  }

  /** @internal Opens the logs and folds what they hold; the views start after this. */
  async open(): Promise<void> {
    // Replication waits for this: a failed open lets it go on (the gate then takes nothing).
    try {
      this.#writer = await this.#host.multifeed.writer(this.#host.writerName)
      this.#self = this.#writer.id as string as WriterKey
      this.#owner = this.#option.owner === true ? this.#self : (this.#option.owner as WriterKey)
      await this.#logs.ready()
      this.#logs.on('feed', (feed) => this.#watch(feed))
      for (const feed of this.#logs.feeds()) this.#watch(feed)
      // In the queue of folds the watches started: two folds at once would read one log's new
      // entries twice (each appends them to its records).
      const first = settled(this.#folding).then(() => this.#fold())
      this.#folding = first
      await first
    } finally {
      this.#markOpened()
    }
  }

  /** `writerKey`'s role and status: `{ status: 'none' }` for a key no record names. */
  get(writerKey: string): MemberInfo {
    return this.#current().get(toWriterKey(writerKey))
  }

  /** Every writer a record names, removed ones included, sorted by key. */
  list(): MemberRow[] {
    return this.#current().list()
  }

  /** Makes `writerKey` a writer (default) or an admin. Only admins: else ERR_NOT_WRITABLE. */
  add(writerKey: string, opts?: { role?: Role } | Callback<void>, cb?: Callback<void>): Promise<void> {
    if (typeof opts === 'function') return this.add(writerKey, undefined, opts)
    return withCallback(this.#add(writerKey, opts ?? {}), cb)
  }

  /**
   * Removes `writerKey` from `upTo` on (default: the entries of its feed this store holds); its
   * entries at or past it stop counting everywhere. Resolves once the views no longer show them.
   */
  remove(writerKey: string, opts?: { upTo?: number } | Callback<void>, cb?: Callback<void>): Promise<void> {
    if (typeof opts === 'function') return this.remove(writerKey, undefined, opts)
    return withCallback(this.#remove(writerKey, opts ?? {}), cb)
  }

  /**
   * Resolves once the members are open (`self`, `get`, `list` answer) and every membership record
   * stored locally now is folded in.
   */
  ready(cb?: Callback<void>): Promise<void> {
    return withCallback(this.#ready(), cb)
  }

  async #ready(): Promise<void> {
    await this.#opened
    if (this.#self === null) throw KappaError.closed('members')
    // Blocks a replication stored count once the feeds have read them.
    for (const feed of this.#logs.feeds()) await feed.update()
    this.#refold()
    await this.#folding
  }

  /**
   * A replication stream of the membership logs alone, to pipe to the other store's
   * `members.replicate()`. `core.replicate()` carries them already, beside the data: this is for
   * moving the records without the data.
   */
  replicate(isInitiator?: boolean | Duplex, opts?: ReplicateOptions): Duplex {
    return this.#logs.replicate(isInitiator, opts)
  }

  /** @internal Stops folding and closes the membership logs. */
  async close(): Promise<void> {
    this.#self = null
    await settled(this.#folding)
    await this.#logs.close()
  }

  /**
   * @internal How many entries of the feed with this hex key can count (from seq 0), however many
   * it holds: Infinity for a member, `upTo` for a removed writer, 0 for a writer no record names.
   */
  countable(key: FeedKey): number {
    const inclusion: Inclusion = this.#membership?.inclusion(key as string as WriterKey) ?? NONE
    if (inclusion.state === 'all') return Infinity
    if (inclusion.state === 'none') return 0
    return inclusion.length
  }

  /**
   * How much of a data feed replication takes and serves. This store's own writer, while no record
   * names it, is served whole: it may have been added where this store has not heard of it yet.
   */
  #dataGate(key: FeedKey): Inclusion {
    const membership = this.#membership
    if (membership === null) return NONE
    const writer = key as string as WriterKey
    if (writer === this.#self && membership.get(writer).status === 'none') return ALL
    return membership.inclusion(writer)
  }

  /**
   * How much of a membership log replication takes and serves: the whole log of every writer that
   * is or was an admin, none of anyone else's. Not only up to an admin's cut: a removal can lie
   * past the cut it makes itself (an admin removing itself: in doubt, remove wins), and a replica
   * without it would fold another membership.
   */
  #logGate(key: FeedKey): Inclusion {
    const membership = this.#membership
    if (membership === null) return NONE
    let author = this.#authorOf.get(key)
    if (author === undefined) {
      author = writerFeedKey(Buffer.from(key, 'hex')) as string as WriterKey
      this.#authorOf.set(key, author)
    }
    const info = membership.get(author)
    return info.status !== 'none' && info.role === 'admin' ? ALL : NONE
  }

  /** @internal A data feed grew: a pin may be checkable now. */
  grew(feed: Feed<unknown>): void {
    const pending = this.#membership?.pending() ?? []
    if (pending.some((p) => p.writer === (feed.id as string) && p.log === 'data' && p.length <= feed.length))
      this.#refold()
  }

  async #add(writerKey: string, opts: { role?: Role }): Promise<void> {
    const member = toWriterKey(writerKey)
    const role = opts.role ?? 'writer'
    if (role !== 'writer' && role !== 'admin') throw KappaError.invalid("role must be 'writer' or 'admin'")
    await this.#append({ type: 'add', member, role })
  }

  async #remove(writerKey: string, opts: { upTo?: number }): Promise<void> {
    const member = toWriterKey(writerKey)
    if (member === this.owner) throw KappaError.invalid('the owner cannot be removed')
    const feed = this.#host.multifeed.feed(member)
    const held = feed?.length ?? 0
    const upTo = opts.upTo ?? held
    if (!Number.isSafeInteger(upTo) || upTo < 0)
      throw KappaError.invalid('upTo must be a non-negative integer')
    if (upTo > held) {
      throw KappaError.invalid(`upTo ${upTo} is past the ${held} entries of that feed this store holds`)
    }
    const treeHash = feed && upTo > 0 ? ((await feed.treeHash(upTo)) ?? ZERO_HASH) : ZERO_HASH
    const log = this.#logOf.get(member)
    const logUpTo = log?.length ?? 0
    const logTreeHash = log && logUpTo > 0 ? ((await log.treeHash(logUpTo)) ?? ZERO_HASH) : ZERO_HASH
    await this.#append({ type: 'remove', member, upTo, treeHash, logUpTo, logTreeHash })
  }

  async #append(op: MembershipOp): Promise<void> {
    const self = this.get(this.self)
    if (self.status !== 'member' || self.role !== 'admin') {
      throw new KappaError('ERR_NOT_WRITABLE', 'only an admin adds and removes members')
    }
    if (!this.#log) {
      const keyPair = (await this.#writer?.signingKeyPair()) ?? null
      if (!keyPair) throw new KappaError('ERR_NOT_WRITABLE', 'this store has no signing key for its writer')
      this.#log = await this.#logs.writer(LOG_NAME, { keyPair })
      this.#watch(this.#log)
    }
    await this.#log.append(encodeRecord(op))
    this.#refold()
    await this.#folding
    await this.#host.changed()
  }

  #current(): Membership {
    if (!this.#membership) throw KappaError.invalid('members are not open yet (await core.ready())')
    return this.#membership
  }

  #watch(feed: Feed<Buffer>): void {
    if (this.#watched.has(feed.id)) return
    this.#watched.add(feed.id)
    this.#logOf.set(writerFeedKey(feed.key) as string as WriterKey, feed)
    feed.on('append', () => this.#refold())
    this.#refold()
  }

  /** Folds again after the fold in flight (one at a time; appends during one fold once more). */
  #refold(): void {
    if (this.#self === null) return
    this.#again = true
    // A failed fold (a log that could not be read) is reported; the next change folds again.
    this.#folding = settled(this.#folding).then(async () => {
      if (!this.#again) return
      this.#again = false
      try {
        await this.#fold()
      } catch (err) {
        if (this.#self !== null) this.#host.failed(err instanceof Error ? err : new Error(String(err)))
        throw err
      }
    })
    markHandled(this.#folding)
  }

  /**
   * Folds the records of the admins' logs. Only an admin's records can count, so only admins'
   * logs are read: the owner's first, then those of every admin the fold finds, until no new one
   * appears. A log a non-admin (or a hostile peer) fills is never read.
   */
  async #fold(): Promise<void> {
    const authors = new Set<WriterKey>([this.owner])
    let records: MembershipRecord[]
    let trees: HeldTrees
    let after: Membership
    for (;;) {
      records = []
      for (const author of authors) {
        const log = this.#logOf.get(author)
        if (log) records.push(...(await this.#read(author, log)))
      }
      trees = await this.#heldTrees(records)
      after = foldMembership(this.owner, records, trees)
      const more = after
        .list()
        .filter((row) => !authors.has(row.key) && after.logInclusion(row.key).state !== 'none')
      if (more.length === 0) break
      for (const row of more) authors.add(row.key)
    }
    const before = this.#membership
    this.#membership = after
    if (!before || !sameMembership(before, after)) {
      this.#host.multifeed.gateChanged()
      this.#logs.gateChanged()
    }
    if (after.get(this.self).status === 'removed') {
      this.#writer?.refuseAppends(
        new KappaError('ERR_NOT_WRITABLE', 'this writer was removed from the database'),
      )
      if (!this.#removedTold) {
        this.#removedTold = true
        this.#host.removed()
      }
    }
    if (before && !sameMembership(before, after)) {
      this.emit('change')
      void this.#host.changed().catch(safetyCatch)
    }
  }

  /** `author`'s records, reading only the entries its log gained since the last fold. */
  async #read(author: WriterKey, log: Feed<Buffer>): Promise<MembershipRecord[]> {
    let read = this.#records.get(log.id)
    if (!read) this.#records.set(log.id, (read = []))
    if (read.length < log.length) {
      const values = await log.getBatch(read.length, log.length)
      for (const bytes of values) {
        const result = readRecord(bytes)
        // An unreadable record keeps its place (the next record's seq stays true) without effect.
        read.push(result.state === 'record' ? { author, seq: read.length, op: result.op } : null)
      }
    }
    return read.filter((r): r is MembershipRecord => r !== null)
  }

  /** The tree hashes the removals' pins need, read now (the fold itself is synchronous). */
  async #heldTrees(records: readonly MembershipRecord[]): Promise<HeldTrees> {
    const hashes = new Map<string, Buffer | null>()
    for (const { op } of records) {
      if (op.type !== 'remove') continue
      const wanted: Array<[LogKind, number, Feed<unknown> | undefined]> = [
        ['data', op.upTo, this.#host.multifeed.feed(op.member)],
        ['membership', op.logUpTo, this.#logOf.get(op.member)],
      ]
      for (const [log, length, feed] of wanted) {
        const id = `${op.member}/${log}/${length}`
        if (hashes.has(id)) continue
        hashes.set(id, feed && length > 0 ? await feed.treeHash(length) : null)
      }
    }
    return { treeHash: (writer, log, length) => hashes.get(`${writer}/${log}/${length}`) ?? null }
  }
}

function toWriterKey(key: unknown): WriterKey {
  const hex = Buffer.isBuffer(key) ? key.toString('hex') : typeof key === 'string' ? key.toLowerCase() : ''
  if (!HEX_KEY.test(hex)) throw KappaError.invalid('a writer key is 32 bytes or 64 hex characters')
  return hex as WriterKey
}

function sameMembership(a: Membership, b: Membership): boolean {
  const rows = (m: Membership) =>
    JSON.stringify(m.list().map((row) => [row, m.inclusion(row.key), m.logInclusion(row.key)]))
  return rows(a) === rows(b)
}
