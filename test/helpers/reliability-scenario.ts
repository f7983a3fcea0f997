/**
 * Random convergence scenarios: a plan of steps drawn from one seed, before anything runs. The
 * plan fixes every choice that does not depend on runtime state (who writes what, which pairs
 * sync in which modes, where streams are cut, who restarts). Choices that do (which of a key's
 * current nodes to link) are fractions in the plan, resolved against the replica's state when the
 * step runs — so a replay makes the same choices wherever the state is the same.
 */
import { Prng } from './prng.js'

export type Mode = 'sync' | 'push' | 'pull'

/** How a write picks its links. */
export type LinkPlan =
  | { kind: 'default' } // no `links` option: the key's current heads
  | { kind: 'heads' } // the key's current heads, passed explicitly
  | { kind: 'none' } // `links: []`, a deliberate fork
  | { kind: 'older'; picks: number[] } // some nodes this replica holds for the key (heads or not)
  | { kind: 'cross'; picks: number[] } // nodes of other keys (the register ignores them)
  | { kind: 'missing' } // a hash nobody has: the write must fail with ERR_NOT_FOUND, nothing written

export interface RowPlan {
  type: 'put' | 'del'
  key: string
  value?: unknown
  links: LinkPlan
}

/** `single`: one put/del; `batch`: one kv.batch; `burst`: several puts/dels issued at once. */
export interface WriteStep {
  op: 'write'
  peer: number
  style: 'single' | 'batch' | 'burst'
  rows: RowPlan[]
}

export interface SyncStep {
  op: 'sync'
  a: number
  b: number
  modes: [Mode, Mode]
  live: boolean
  /** `pipe`: the two replication streams piped in process; `tcp`: each over a socket on 127.0.0.1. */
  transport: 'pipe' | 'tcp'
  /** Destroy one side's socket once this many bytes went through (both directions); null: never. */
  cutAfter: number | null
  cutSide: 0 | 1
  /** Live only: writes made while the stream is up. */
  during: WriteStep[]
}

export interface RestartStep {
  op: 'restart'
  peer: number
}

/**
 * An owned scenario's membership change: `peer` (an admin or not: a non-admin's is refused with
 * ERR_NOT_WRITABLE and changes nothing) adds or removes `target`'s writer. A removal's `upTo` is
 * the fraction of the target's feed `peer` holds when the step runs (1: all of it).
 */
export interface MemberStep {
  op: 'member'
  peer: number
  action: 'add' | 'remove'
  target: number
  role: 'writer' | 'admin'
  upTo: number
}

export type Step = WriteStep | SyncStep | RestartStep | MemberStep

export interface Scenario {
  seed: number
  /** Which size it was generated at: a replay needs the same (`SIZE=large`). */
  size: 'small' | 'large'
  peers: number
  keys: string[]
  steps: Step[]
  /**
   * Owned: peer 0 opens with `membership: { owner: true }`, the others join it; membership
   * records travel with the data, on the same connection. `adds`: the owner adds every
   * peer first, then only adds follow; `full`: some peers are never added, and removals come too.
   * `false`: an open database, no membership at all.
   */
  owned: Owned
}

export type Owned = false | 'adds' | 'full'

export interface ScenarioSize {
  peers: [number, number]
  steps: [number, number]
  keys: [number, number]
}

export const SMALL: ScenarioSize = { peers: [4, 4], steps: [12, 24], keys: [2, 6] }
export const LARGE: ScenarioSize = { peers: [4, 6], steps: [20, 40], keys: [2, 10] }

const MODE_PAIRS: Array<[Mode, Mode]> = [
  ['sync', 'sync'],
  ['sync', 'sync'],
  ['push', 'pull'],
  ['pull', 'push'],
  ['sync', 'push'],
  ['sync', 'pull'],
  ['push', 'sync'],
  ['pull', 'sync'],
]
const CONFLICTS: Array<[Mode, Mode]> = [
  ['push', 'push'],
  ['pull', 'pull'],
]

/**
 * `opts.owned`: an owned database, with membership steps among the others (drawn from a stream of
 * their own, so the other steps are those of the open scenario of the same seed).
 */
export function generateScenario(
  seed: number,
  size: ScenarioSize = SMALL,
  opts: { owned?: Owned } = {},
): Scenario {
  const rng = new Prng(seed)
  const peers = rng.int(...size.peers)
  // Few keys make forks, merges and tombstones on one key likely.
  const keys = Array.from({ length: rng.int(...size.keys) }, (_, i) => keyName(i))
  const steps: Step[] = []
  const count = rng.int(...size.steps)
  for (let i = 0; i < count; i++) {
    const kind = rng.weighted({ write: 10, sync: 6, restart: 1 })
    if (kind === 'write') steps.push(writeStep(rng, rng.int(0, peers - 1), keys, i))
    else if (kind === 'restart') steps.push({ op: 'restart', peer: rng.int(0, peers - 1) })
    else steps.push(syncStep(rng, peers, keys, i))
  }
  const owned = opts.owned ?? false
  return {
    size: size === LARGE ? 'large' : 'small',
    seed,
    peers,
    keys,
    steps: owned ? withMembership(new Prng(seed).fork('membership'), peers, steps, owned) : steps,
    owned,
  }
}

/**
 * The owner first adds peers (`adds`: every one; `full`: most), some as admins; then membership
 * steps by anyone, inserted at random places: `adds` only adds, `full` mostly removals, most of
 * them at what the remover holds.
 */
function withMembership(rng: Prng, peers: number, steps: readonly Step[], owned: 'adds' | 'full'): Step[] {
  const memberStep = (peer: number, action: 'add' | 'remove', target: number): MemberStep => ({
    op: 'member',
    peer,
    action,
    target,
    role: rng.chance(0.3) ? 'admin' : 'writer',
    upTo: rng.chance(0.5) ? 1 : rng.next(),
  })
  const setup: Step[] = []
  for (let target = 1; target < peers; target++)
    if (owned === 'adds' || rng.chance(0.8)) setup.push(memberStep(0, 'add', target))
  const out = [...steps]
  for (let i = 0, n = rng.int(2, 6); i < n; i++) {
    const action = owned === 'full' && rng.chance(0.65) ? 'remove' : 'add'
    // Now and then the owner as the target: a removal of it is refused (ERR_INVALID_ARGUMENT).
    const target = rng.chance(0.05) ? 0 : rng.int(1, peers - 1)
    const peer = rng.chance(0.5) ? 0 : rng.int(0, peers - 1)
    out.splice(rng.int(0, out.length), 0, memberStep(peer, action, target))
  }
  return [...setup, ...out]
}

/** Keys that sort in interesting ways: shared prefixes, unicode, an empty string. */
function keyName(i: number): string {
  return ['a', 'ab', 'b', 'k/1', 'k/10', 'k/2', 'é', '', 'z', 'zz'][i] ?? `key${i}`
}

function writeStep(rng: Prng, peer: number, keys: readonly string[], step: number): WriteStep {
  const style = rng.weighted({ single: 4, batch: 3, burst: 2 })
  const rows = style === 'single' ? 1 : rng.int(1, 6)
  return {
    op: 'write',
    peer,
    style,
    rows: Array.from({ length: rows }, (_, j) => rowPlan(rng, keys, `${step}.${j}`)),
  }
}

function rowPlan(rng: Prng, keys: readonly string[], tag: string): RowPlan {
  const type = rng.chance(0.2) ? 'del' : 'put'
  const key = rng.pick(keys)
  const kind = rng.weighted({ default: 8, heads: 3, none: 2, older: 3, cross: 1, missing: 0.3 })
  const picks = () => Array.from({ length: rng.int(1, 3) }, () => rng.next())
  let links: LinkPlan
  if (kind === 'older' || kind === 'cross') links = { kind, picks: picks() }
  else links = { kind }
  return type === 'put' ? { type, key, value: randomValue(rng, tag), links } : { type, key, links }
}

function randomValue(rng: Prng, tag: string): unknown {
  switch (rng.int(0, 5)) {
    case 0:
      return tag
    case 1:
      return rng.int(-1000, 1000)
    case 2:
      return { tag, n: rng.next() }
    case 3:
      return [tag, rng.chance(0.5)]
    case 4:
      return `${tag} ünïcødé ${'x'.repeat(rng.logInt(1, 2000))}`
    default:
      return rng.chance(0.5)
  }
}

function syncStep(rng: Prng, peers: number, keys: readonly string[], step: number): SyncStep {
  const a = rng.int(0, peers - 1)
  let b = rng.int(0, peers - 2)
  if (b >= a) b++
  const live = rng.chance(0.25)
  const modes = rng.chance(0.04) ? rng.pick(CONFLICTS) : rng.pick(MODE_PAIRS)
  const cut = rng.chance(0.3)
  const transport = cut || rng.chance(0.5) ? 'tcp' : 'pipe'
  const during: WriteStep[] = []
  if (live) {
    for (let i = 0, n = rng.int(0, 3); i < n; i++) {
      during.push(writeStep(rng, rng.chance(0.5) ? a : b, keys, step * 100 + i))
    }
  }
  return {
    op: 'sync',
    a,
    b,
    modes,
    live,
    transport,
    cutAfter: cut ? rng.logInt(1, 30_000) : null,
    cutSide: rng.chance(0.5) ? 0 : 1,
    during,
  }
}

/** One line per step, for failure reports. */
export function describeStep(step: Step): string {
  if (step.op === 'restart') return `restart peer ${step.peer}`
  if (step.op === 'member') {
    const what = step.action === 'add' ? `as ${step.role}` : `up to ${step.upTo.toFixed(2)} of what it holds`
    return `peer ${step.peer} members ${step.action} peer ${step.target} ${what}`
  }
  if (step.op === 'write') {
    const rows = step.rows.map((r) => `${r.type} ${JSON.stringify(r.key)} links=${r.links.kind}`)
    return `peer ${step.peer} ${step.style}: ${rows.join(', ')}`
  }
  const cut = step.cutAfter === null ? '' : ` cut side ${step.cutSide} after ${step.cutAfter} B`
  const during = step.during.length ? ` with ${step.during.length} writes during` : ''
  return `sync ${step.a}(${step.modes[0]}) ⇄ ${step.b}(${step.modes[1]}) ${step.live ? 'live' : 'non-live'} over ${step.transport}${cut}${during}`
}
