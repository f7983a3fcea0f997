/**
 * Runs a convergence scenario (reliability-scenario.ts) against real HyperKVs in directories under
 * `root`, checking as it goes and at the end:
 *
 * - after every step that touched a replica: its `get` for every key, read stream and heads equal
 *   a model rebuilt from the nodes its log holds; every write it acknowledged is there; it holds no
 *   node nobody wrote;
 * - a write linking a node nobody has fails with ERR_NOT_FOUND and writes nothing;
 * - every replication stream ends cleanly or with a KappaError code, and never hangs; an uncut
 *   replication ends cleanly (or, push+push / pull+pull, with ERR_MODE_CONFLICT on both sides)
 *   and the receiving side then holds every node the sending side held;
 * - after a final full sync: every replica equals the model of every acknowledged write.
 *
 * A failure is rethrown with the seed, the step it happened in and the whole plan.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { isKappaError } from '../../src/errors.js'
import { HyperKV, type BatchRow, type KvNode, type WriteOptions } from '../../src/kv/index.js'
import type { MembershipOption } from '../../src/kappa/index.js'
import { signedLengthOf } from './feeds.js'
import { Prng } from './prng.js'
import { ReplicaModel, assertKvEquals, logNodes, readRows } from './reliability-model.js'
import { closedWith, connect, deadline, uncodedErrors } from './reliability-sync.js'
import {
  describeStep,
  type LinkPlan,
  type MemberStep,
  type RowPlan,
  type Scenario,
  type Step,
  type SyncStep,
  type WriteStep,
} from './reliability-scenario.js'

/** A replication that neither ends nor fails within this is a hang. */
const HANG_MS = 30_000
/** How long closing the peers may take after a failure before the failure is reported anyway. */
const CLOSE_MS = 10_000
/** How long a live replication may take to deliver what the other side holds. */
const LIVE_DELIVERY_MS = 15_000
/** `RELIABILITY_TRACE=1`: print every step and its duration. */
const TRACE = process.env.RELIABILITY_TRACE === '1'

class Peer {
  readonly index: number
  readonly dir: string
  /** How it opens: open, or owned (the owner's `{ owner: true }`, the others' `{ owner: hex }`). */
  readonly membership: MembershipOption
  kv: HyperKV
  /** The writes this replica acknowledged (its own copies), by hash. */
  readonly acked = new Map<string, KvNode>()
  /** What its log held at the last check, plus its own writes since. */
  known = new ReplicaModel()
  /**
   * Logs it may hold a signed length of without listing them (a sync cut or failed while it was
   * proving a feed it had been offered: a feed is listed only once a block of it verified), with
   * the longest such length. Kept across restarts: the record is on disk.
   */
  readonly unlisted = new Map<string, number>()

  constructor(index: number, dir: string, membership: MembershipOption = 'open') {
    this.index = index
    this.dir = dir
    this.membership = membership
    this.kv = this.open()
  }

  open(): HyperKV {
    return this.membership === 'open'
      ? new HyperKV(this.dir)
      : new HyperKV(this.dir, { membership: this.membership })
  }

  /** Open, its members folded and its views (and register) caught up with them. */
  async ready(): Promise<void> {
    await this.kv.ready()
    if (this.membership === 'open') return
    await this.kv.members!.ready()
    await this.kv.log.kappa.ready()
    await this.kv.ready()
  }

  /** Whether `node` counts here: always in an open database; in an owned one, as its members say. */
  counts(node: { log: string; seq: number }): boolean {
    const members = this.kv.members
    if (members === null) return true
    const info = members.get(node.log)
    if (info.status === 'member') return true
    // seq is 1-based: the node is entry seq - 1 of its writer's feed.
    return info.status === 'removed' && node.seq <= info.upTo
  }

  learn(node: KvNode): void {
    this.acked.set(node.key, node)
    this.known.add(node)
  }
}

/** Owned: the most star rounds of the final sync (anchors made due in one travel in the next). */
const FINAL_ROUNDS_OWNED = 5

export class ScenarioRunner {
  readonly scenario: Scenario
  private readonly root: string
  private readonly peers: Peer[] = []
  /** Every acknowledged write, on any replica. */
  private readonly model = new ReplicaModel()
  private stepIndex = -1

  constructor(scenario: Scenario, root: string) {
    this.scenario = scenario
    this.root = root
    if (!scenario.owned) {
      for (let i = 0; i < scenario.peers; i++) this.peers.push(new Peer(i, this.dirOf(i)))
    }
  }

  private dirOf(i: number): string {
    return join(this.root, `peer-${i}`)
  }

  /** Owned: peer 0 owns the database; the others join it, knowing its writer key. */
  private async openOwned(): Promise<void> {
    const owner = new Peer(0, this.dirOf(0), { owner: true })
    this.peers.push(owner)
    await owner.ready()
    const ownerKey = owner.kv.members!.self
    for (let i = 1; i < this.scenario.peers; i++)
      this.peers.push(new Peer(i, this.dirOf(i), { owner: ownerKey }))
  }

  async run(): Promise<void> {
    try {
      if (this.scenario.owned) await this.openOwned()
      for (const peer of this.peers) await peer.ready()
      for (const [i, step] of this.scenario.steps.entries()) {
        this.stepIndex = i
        const started = Date.now()
        await this.step(step)
        if (TRACE)
          console.error(`[${this.scenario.seed}] ${i} ${Date.now() - started} ms ${describeStep(step)}`)
      }
      this.stepIndex = this.scenario.steps.length
      await this.finalSync()
    } catch (err) {
      throw this.explain(err)
    } finally {
      // A close that never settles must not swallow the failure being reported.
      const closed = Promise.allSettled(this.peers.map((peer) => peer.kv.close()))
      let timer: NodeJS.Timeout | undefined
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_MS)))])
      clearTimeout(timer)
    }
  }

  private async step(step: Step): Promise<void> {
    if (step.op === 'write') return this.write(step)
    if (step.op === 'restart') return this.restart(this.peers[step.peer]!)
    if (step.op === 'member') return this.member(step)
    return this.sync(step)
  }

  // ---- membership -------------------------------------------------------------------------------

  /** An add or removal by a peer; a non-admin's is refused and changes nothing. */
  private async member(step: MemberStep): Promise<void> {
    const peer = this.peers[step.peer]!
    const members = peer.kv.members!
    const target = this.peers[step.target]!.kv.members!.self
    const before = JSON.stringify(members.list())
    const self = members.get(members.self)
    const admin = self.status === 'member' && self.role === 'admin'
    let refused: string | null = null
    try {
      if (step.action === 'add') await members.add(target, { role: step.role })
      else {
        const held = peer.kv.log.kappa.feed(target)?.length ?? 0
        await members.remove(target, { upTo: Math.floor(step.upTo * held) })
      }
    } catch (err) {
      if (isKappaError(err, 'ERR_NOT_WRITABLE')) refused = 'ERR_NOT_WRITABLE'
      else if (isKappaError(err, 'ERR_INVALID_ARGUMENT') && step.action === 'remove' && step.target === 0)
        refused = 'ERR_INVALID_ARGUMENT'
      else throw err
    }
    const expected =
      step.action === 'remove' && step.target === 0
        ? 'ERR_INVALID_ARGUMENT'
        : admin
          ? null
          : 'ERR_NOT_WRITABLE'
    assert.equal(refused, expected, 'only an admin changes the members, and nobody removes the owner')
    if (refused !== null)
      assert.equal(JSON.stringify(members.list()), before, 'a refused change changes nothing')
    await this.check(peer)
  }

  /** Owned: both peers folded what the sync brought (records travel with the data). */
  private async settle(pair: readonly [Peer, Peer]): Promise<void> {
    if (!this.scenario.owned) return
    for (const peer of pair) await peer.ready()
  }

  // ---- writes -----------------------------------------------------------------------------------

  /** `check`: false while a live replication may change the replica under the check. */
  private async write(step: WriteStep, check = true): Promise<void> {
    const peer = this.peers[step.peer]!
    // A writer that knows it was removed cannot write (test/kv/members.test.ts covers the refusal).
    if (peer.kv.members?.get(peer.kv.members.self).status === 'removed') return
    const salt = new Prng(this.scenario.seed).fork(`missing:${this.stepIndex}`)
    const rows: BatchRow[] = []
    for (const row of step.rows) rows.push(await this.resolve(peer, row, salt))
    const bad = step.rows.map((row) => row.links.kind === 'missing')
    if (step.style === 'batch') {
      await this.expectWrite(peer, bad.includes(true), () => peer.kv.batch(rows))
    } else {
      // single: one call; burst: every call issued at once (the write queue coalesces them).
      await Promise.all(rows.map((row, i) => this.expectWrite(peer, bad[i]!, () => writeOne(peer.kv, row))))
    }
    if (check) await this.check(peer)
  }

  private async expectWrite(
    peer: Peer,
    mustFail: boolean,
    write: () => Promise<KvNode | KvNode[]>,
  ): Promise<void> {
    let result: KvNode | KvNode[]
    try {
      result = await write()
    } catch (err) {
      if (mustFail && isKappaError(err, 'ERR_NOT_FOUND')) return
      throw err
    }
    assert.ok(!mustFail, 'a write linking a node nobody has must fail with ERR_NOT_FOUND')
    for (const node of Array.isArray(result) ? result : [result]) {
      this.model.add(node)
      peer.learn(node)
    }
  }

  /** A planned row → a batch row, its links resolved against what the replica holds now. */
  private async resolve(peer: Peer, row: RowPlan, salt: Prng): Promise<BatchRow> {
    const out: BatchRow = { type: row.type, key: row.key, value: row.value }
    const links = await this.links(peer, row.key, row.links, salt)
    if (links !== undefined) out.links = links
    return out
  }

  private async links(peer: Peer, key: string, plan: LinkPlan, salt: Prng): Promise<string[] | undefined> {
    switch (plan.kind) {
      case 'default':
        return undefined
      case 'none':
        return []
      case 'heads':
        return Object.keys(await peer.kv.get(key))
      case 'missing':
        return [Array.from({ length: 64 }, () => salt.int(0, 15).toString(16)).join('')]
      case 'older':
      case 'cross': {
        const mine = peer.known.nodesOf(key)
        const candidates = plan.kind === 'older' ? mine : peer.known.nodesExcept(key)
        if (candidates.length === 0) return []
        return [...new Set(plan.picks.map((f) => candidates[Math.floor(f * candidates.length)]!))]
      }
    }
  }

  // ---- restarts and syncs -----------------------------------------------------------------------

  private async restart(peer: Peer): Promise<void> {
    await peer.kv.close()
    peer.kv = peer.open()
    await peer.ready()
    await this.check(peer)
  }

  private async sync(step: SyncStep): Promise<void> {
    const pair = [this.peers[step.a]!, this.peers[step.b]!] as const
    const before = pair.map((peer) => new Set(peer.known.hashes()))
    const unprovable = await Promise.all([
      unprovableNodes(pair[0], pair[1]),
      unprovableNodes(pair[1], pair[0]),
    ])
    const conn = await connect([pair[0].kv, pair[1].kv], step)
    if (step.live) {
      for (const write of step.during) await this.write(write, false)
      await this.deliverLive(step, pair, conn, unprovable)
      conn.hangUp(step.cutSide)
    }
    const outcome = await deadline(conn.closed, HANG_MS, describeStep(step))
    assert.deepEqual(uncodedErrors(outcome), [], 'replication errors carry a KappaError code')
    const conflict = step.modes[0] === step.modes[1] && step.modes[0] !== 'sync'
    if (!conn.cut && conflict) {
      const codes = outcome.map((err) => (err as { code?: string } | null)?.code)
      assert.deepEqual(codes, ['ERR_MODE_CONFLICT', 'ERR_MODE_CONFLICT'], 'both sides report the conflict')
    } else if (!conn.cut && !step.live) {
      assert.deepEqual(outcome, [null, null], 'an uncut non-live replication ends cleanly on both sides')
    }
    await this.settle(pair)
    for (const peer of pair) await this.check(peer)
    if (conn.cut || outcome.some((err) => err !== null)) {
      for (const side of [0, 1] as const) if (receives(step, side)) noteUnlisted(pair[side], pair[1 - side])
    }
    if (!conn.cut && !conflict) {
      for (const side of [0, 1] as const) {
        if (!receives(step, side)) continue
        const unresolvable = this.scenario.owned ? this.unresolvable(pair[side]) : new Set<string>()
        const missing = await this.countedFrom(
          pair[1 - side],
          pair[side],
          [...before[1 - side]!].filter(
            (hash) => !pair[side].known.has(hash) && !unprovable[side]!.has(hash) && !unresolvable.has(hash),
          ),
        )
        assert.deepEqual(
          missing,
          [],
          `peer ${pair[side].index} received everything peer ${pair[1 - side].index} held`,
        )
      }
    }
  }

  /** Live: waits until each receiving side holds what the other side holds (unless cut). */
  private async deliverLive(
    step: SyncStep,
    pair: readonly [Peer, Peer],
    conn: Awaited<ReturnType<typeof connect>>,
    unprovable: readonly [Set<string>, Set<string>],
  ): Promise<void> {
    const conflict = step.modes[0] === step.modes[1] && step.modes[0] !== 'sync'
    if (conflict) {
      // A conflict ends both sides by itself once the hellos have crossed: hanging up earlier would
      // only test the hang-up.
      await Promise.all(conn.streams.map(closedWith))
      return
    }
    const sides = ([0, 1] as const).filter((side) => receives(step, side))
    // What the receiver must get: what the sender held, as far as it counts there. Owned, what
    // counts moves while the membership records arrive: asked again until they all have.
    const offered = new Map(
      await Promise.all(
        sides.map(async (side) => {
          const unresolvable = this.scenario.owned ? this.unresolvable(pair[side]) : new Set<string>()
          const hashes = pair[1 - side].known
            .hashes()
            .filter((hash) => !unprovable[side].has(hash) && !unresolvable.has(hash))
          return [side, hashes] as const
        }),
      ),
    )
    const streamsClosed = Promise.all(conn.streams.map(closedWith))
    let closed = false
    void streamsClosed.then(() => (closed = true))
    const start = Date.now()
    for (;;) {
      if (conn.cut) return
      let pending = 0
      for (const side of sides) {
        const receiver = pair[side]
        if (!recordsDelivered(pair[1 - side], receiver)) pending++
        // What the records stored so far make count (they are folded a moment after they land).
        else await receiver.kv.members?.ready()
        for (const hash of await this.countedFrom(pair[1 - side], receiver, offered.get(side)!)) {
          if (!(await holds(receiver.kv, hash))) pending++
        }
      }
      if (pending === 0) return
      if (closed && !conn.cut) {
        const outcome = await streamsClosed
        throw new Error(`a live replication ended before delivering: ${outcome.map(String).join(' / ')}`)
      }
      if (Date.now() - start > LIVE_DELIVERY_MS)
        throw new Error(`live replication left ${pending} nodes (or membership logs) undelivered`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /**
   * Two rounds of a star of uncut sync/sync replications: then everyone holds everything. Owned,
   * rounds go on while they bring anything (the anchors a round made due travel in the next).
   */
  private async finalSync(): Promise<void> {
    const rng = new Prng(this.scenario.seed).fork('final')
    const held = () =>
      this.peers.map((peer) =>
        peer.kv.log.kappa
          .feeds()
          .map((f) => `${f.key}:${f.length}`)
          .join(),
      )
    let before = held()
    for (let round = 0; round < (this.scenario.owned ? FINAL_ROUNDS_OWNED : 2); round++) {
      if (round >= 2) {
        const now = held()
        if (now.every((lengths, i) => lengths === before[i])) break
        before = now
      }
      for (let j = 1; j < this.peers.length; j++) {
        await this.sync({
          op: 'sync',
          a: 0,
          b: j,
          modes: ['sync', 'sync'],
          live: false,
          transport: rng.chance(0.5) ? 'tcp' : 'pipe',
          cutAfter: null,
          cutSide: 0,
          during: [],
        })
      }
    }
    const extraKeys = [...this.scenario.keys, 'never-written']
    const models = this.scenario.owned ? this.ownedModels() : this.peers.map(() => this.model)
    for (const peer of this.peers) {
      await assertKvEquals(peer.kv, models[peer.index]!, `peer ${peer.index} after the full sync`, extraKeys)
    }
    // A range of the read stream, the same slice on every replica (of what it must show).
    const keys = this.peers.map((peer) => models[peer.index]!.mv.keys())[0]!
    const gt = rng.chance(0.5) ? rng.pick(['', ...keys]) : undefined
    const limit = rng.int(0, keys.length + 1)
    for (const peer of this.peers) {
      const expected = models[peer.index]!.mv.rows()
        .filter((row) => gt === undefined || row.key > gt)
        .slice(0, limit)
      const rows = await readRows(peer.kv, gt === undefined ? { limit } : { gt, limit })
      assert.deepEqual(rows, expected, `peer ${peer.index}: createReadStream({ gt: ${gt}, limit: ${limit} })`)
    }
  }

  /**
   * Owned, after the full sync: every peer has the same members, and what each must show is every
   * acknowledged write the members include (a removed writer's below its `upTo`; a hash shows when
   * one of its copies counts) but for the writes it can never resolve (`unresolvable`). The
   * caller checks every peer against its own.
   */
  private ownedModels(): ReplicaModel[] {
    const [first, ...others] = this.peers as [Peer, ...Peer[]]
    const members = first.kv.members!.list()
    for (const peer of others) {
      assert.deepEqual(peer.kv.members!.list(), members, `peer ${peer.index}'s members equal peer 0's`)
    }
    return this.peers.map((peer) => {
      const expected = new ReplicaModel()
      const unresolvable = this.unresolvable(peer, true)
      for (const hash of this.model.hashes()) {
        const copy = this.model.copies(hash).find((node) => peer.counts(node))
        if (copy && !unresolvable.has(hash)) expected.add(copy)
      }
      return expected
    })
  }

  /**
   * Owned: the writes `peer` cannot show (yet): those linking, directly or through others, a node
   * every copy of which lies where `peer` takes no entries — in a non-member's feed or past a
   * removed writer's `upTo` — and that it does not hold. An excluded node still resolves as a link
   * where it is held; a replica that learns of the removal first downloads that feed only up to
   * `upTo`, and resolves the link through an anchor: a member holding the node writes one once
   * the node is hidden there and a visible node links it (owned seed 2739502010). `settled`: after
   * the full sync, when every such anchor has been written and has travelled; before it, a
   * sync need not bring what an anchor would.
   */
  private unresolvable(peer: Peer, settled = false): Set<string> {
    const members = peer.kv.members!
    const holds = (p: Peer, node: KvNode) => (p.kv.log.kappa.feed(node.log)?.length ?? 0) >= node.seq
    const taken = (node: KvNode) => {
      const info = members.get(node.log)
      return info.status === 'member' || (info.status === 'removed' && node.seq <= info.upTo)
    }
    const anchorers = settled
      ? this.peers.filter((p) => p.kv.members!.get(p.kv.members!.self).status === 'member')
      : []
    const obtainable = (hash: string) =>
      this.model
        .copies(hash)
        .some((node) => holds(peer, node) || taken(node) || anchorers.some((p) => holds(p, node)))
    const memo = new Map<string, boolean>()
    const blocked = (hash: string): boolean => {
      let known = memo.get(hash)
      if (known === undefined) {
        memo.set(hash, false)
        known = (this.model.dag.get(hash) ?? []).some((link) => !obtainable(link) || blocked(link))
        memo.set(hash, known)
      }
      return known
    }
    return new Set(this.model.hashes().filter(blocked))
  }

  /** The replica equals the model of its own log; it kept what it acknowledged and made nothing up. */
  private async check(peer: Peer): Promise<void> {
    const where = `peer ${peer.index}`
    let held: ReplicaModel
    // After a cut stream reports close, Hypercore may still store blocks it had already received
    // (1–5 ms seen): the replica is then still changing under the check. A mismatch counts only
    // once the log stood still across the check; a real divergence persists on a still log.
    for (let attempt = 0; ; attempt++) {
      await peer.kv.ready()
      const changes = peer.kv.log.changes
      held = await ReplicaModel.of(peer.kv)
      try {
        await assertKvEquals(peer.kv, held, where, this.scenario.keys)
        break
      } catch (err) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        await peer.kv.ready()
        if (attempt >= 5 || peer.kv.log.changes === changes) throw err
      }
    }
    // Owned: only what its members include must stay (a removal takes a writer's later entries away).
    const lost = [...peer.acked.values()]
      .filter((node) => !held.has(node.key) && peer.counts(node))
      .map((node) => node.key)
    assert.deepEqual(lost, [], `${where} lost acknowledged writes`)
    const unknown = held.hashes().filter((hash) => !this.model.has(hash))
    assert.deepEqual(unknown, [], `${where} holds nodes nobody acknowledged`)
    peer.known = held
  }

  /**
   * The hashes of `hashes` that `receiver` shows once it holds `sender`'s copy of each: all of
   * them in an open database; in an owned one, those whose copy the sender shows is of a writer
   * the receiver's members include there.
   */
  private async countedFrom(sender: Peer, receiver: Peer, hashes: readonly string[]): Promise<string[]> {
    if (!this.scenario.owned) return [...hashes]
    const out: string[] = []
    for (const hash of hashes) {
      let node: { log: string; seq: number }
      try {
        node = await sender.kv.log.get(hash as Parameters<HyperKV['log']['get']>[0])
      } catch (err) {
        // No longer shown there (a removal it learned since): nothing the receiver must show.
        if (isKappaError(err, 'ERR_NOT_FOUND')) continue
        throw err
      }
      if (receiver.counts(node)) out.push(hash)
    }
    return out
  }

  private explain(err: unknown): Error {
    const { seed, steps } = this.scenario
    const plan = steps.map((step, i) => `${i === this.stepIndex ? '>>' : '  '} ${i}: ${describeStep(step)}`)
    if (this.stepIndex === steps.length) plan.push('>> final full sync')
    const message = [
      `convergence scenario failed — replay with ${this.scenario.owned ? `OWNED=${this.scenario.owned} ` : ''}SEED=${seed}${this.scenario.size === 'large' ? ' SIZE=large' : ''} npm test -- reliability/convergence`,
      `(${this.scenario.peers} peers${this.scenario.owned ? `, owned (${this.scenario.owned})` : ''}, keys ${JSON.stringify(this.scenario.keys)})`,
      ...plan,
      `error: ${err instanceof Error ? err.message : String(err)}`,
    ].join('\n')
    return new Error(message, { cause: err })
  }
}

function writeOne(kv: HyperKV, row: BatchRow): Promise<KvNode> {
  const opts: WriteOptions = row.links === undefined ? {} : { links: row.links }
  return row.type === 'put' ? kv.put(row.key, row.value, opts) : kv.del(row.key, opts)
}

/** Does `side` download in this replication? */
function receives(step: SyncStep, side: 0 | 1): boolean {
  return step.modes[side] !== 'push' && step.modes[1 - side] !== 'pull'
}

/**
 * Owned: `receiver` holds every membership record `sender` holds (what counts there follows
 * them); always true in an open database.
 */
function recordsDelivered(sender: Peer, receiver: Peer): boolean {
  const [from, to] = [sender.kv.members, receiver.kv.members]
  if (from === null || to === null) return true
  return from.logs.feeds().every((log) => (to.logs.feed(log.key)?.length ?? 0) >= log.length)
}

async function holds(kv: HyperKV, hash: string): Promise<boolean> {
  try {
    await kv.log.get(hash as Parameters<HyperKV['log']['get']>[0])
    return true
  } catch (err) {
    if (isKappaError(err, 'ERR_NOT_FOUND')) return false
    throw err
  }
}

/**
 * After a sync that was cut or failed: every log of `sender` that `receiver` does not list may now
 * be stored there, unlisted, at a signed length up to the sender's (it had proven the length, and
 * no block had verified yet).
 */
function noteUnlisted(receiver: Peer, sender: Peer): void {
  const listed = new Set(receiver.kv.log.kappa.feeds().map((feed) => feed.id as string))
  for (const feed of sender.kv.log.kappa.feeds()) {
    if (listed.has(feed.id)) continue
    receiver.unlisted.set(feed.id, Math.max(receiver.unlisted.get(feed.id) ?? 0, signedLengthOf(feed)))
  }
}

/**
 * The nodes of `sender` that `receiver` cannot get from it: those in a log whose signed length is
 * longer on the receiver (it learned a later length without the blocks: a cut sync, an upgrade —
 * also of a log it does not list yet, see `noteUnlisted`). Hypercore
 * proves a block only against the receiver's own signed length, so only a peer at least as far
 * along can serve them (docs/RELIABILITY.md, "What is not promised"); nor those linking to them.
 */
async function unprovableNodes(receiver: Peer, sender: Peer): Promise<Set<string>> {
  const senderLengths = new Map<string, number>(
    sender.kv.log.kappa.feeds().map((feed) => [feed.id, signedLengthOf(feed)]),
  )
  const listed = new Set(receiver.kv.log.kappa.feeds().map((feed) => feed.id as string))
  const behind = new Set(
    receiver.kv.log.kappa
      .feeds()
      .filter((feed) => signedLengthOf(feed) > (senderLengths.get(feed.id) ?? Infinity))
      .map((feed) => feed.id as string),
  )
  // And the logs it may hold a longer signed length of without listing them.
  for (const [id, length] of receiver.unlisted) {
    if (!listed.has(id) && length > (senderLengths.get(id) ?? Infinity)) behind.add(id)
  }
  if (behind.size === 0) return new Set()
  // The read stream is in change order (links first): one pass also catches the nodes that link to
  // such a node, which the receiver holds but cannot show until their links arrive.
  const unprovable = new Set<string>()
  for (const node of await logNodes(sender.kv)) {
    if (behind.has(node.log) || node.links.some((link) => unprovable.has(link))) unprovable.add(node.key)
  }
  return unprovable
}
