/**
 * Lengths a peer offers are claims. Work is bounded by what Hypercore proves — a core's signed
 * length grows only with an upgrade whose signature verified — so a claim is first proven, and
 * only then downloaded to (a download's end never exceeds the proven length: Hypercore's bitfield
 * search loops for ever on a range far beyond it).
 */
import { setTimeout as delay } from 'node:timers/promises'
import type Hypercore from 'hypercore'
import type { HypercorePeer } from 'hypercore'

export type ProofOutcome = 'proven' | 'refuted' | 'ended'

/**
 * How long a claim no peer proves yet is asked again before it counts as refuted: our channel's
 * offer of a new length can overtake the Hypercore channel's own message of it (a writer appending
 * while live), and an upgrade round that ends before that message arrives finds no longer peer.
 */
export const CLAIM_GRACE_MS = 1000
/** The wait between two upgrade rounds within the grace. */
const CLAIM_RETRY_MS = 25

/**
 * Waits until `core`'s signed length is at least `target`, proven by a verified upgrade (from any
 * peer). 'refuted' once the peers cannot prove it: Hypercore's upgrade rounds end without reaching
 * `target` for CLAIM_GRACE_MS (every attached peer has said its length, and none is longer), or data from the peer
 * on `stream` fails to verify. Such data may also be a fork: Hypercore then checks the peer's tree
 * (trees.ts), and the claim is refuted only once `checked()` says that check found none (a fork
 * settles `ended`). 'ended' when `ended` settles first.
 */
export async function proveLength(
  core: Hypercore,
  target: number,
  stream: unknown,
  ended: Promise<unknown>,
  checked: () => Promise<void>,
): Promise<ProofOutcome> {
  if (core.length >= target) return 'proven'
  let onInvalid = (_err: Error, _req: unknown, _res: unknown, _from: HypercorePeer | null): void => {}
  const invalid = new Promise<'refuted'>((resolve) => {
    onInvalid = (err, _req, _res, from) => {
      if (from?.stream !== stream) return
      // Hypercore checks for a fork only where there is a history to fork from, and not after an
      // invalid operation.
      const checking = core.length > 0 && (err as { code?: string }).code !== 'INVALID_OPERATION'
      if (checking) void checked().then(() => resolve('refuted'))
      else resolve('refuted')
    }
    core.on('verification-error', onInvalid)
  })
  const stop = ended.then(() => 'ended' as const)
  const deadline = Date.now() + CLAIM_GRACE_MS
  try {
    while (core.length < target) {
      const round = core.update({ wait: true }).then(
        (upgraded) => (upgraded ? 'upgraded' : 'none'),
        () => 'none' as const,
      )
      const outcome = await Promise.race([round, invalid, stop])
      if (outcome === 'ended' || core.closed) return 'ended'
      if (outcome === 'refuted') return core.length >= target ? 'proven' : 'refuted'
      if (outcome === 'none' && core.length < target) {
        if (Date.now() >= deadline) return 'refuted'
        // An end or an invalid proof meanwhile wins the next round's race at once.
        await Promise.race([delay(CLAIM_RETRY_MS), invalid, stop])
      }
    }
    return 'proven'
  } finally {
    core.off('verification-error', onInvalid)
  }
}
