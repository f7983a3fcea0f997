/**
 * A live stream's `'caught-up'`: once this side holds every block the peer offered when it
 * connected (each feed's length in entries accounting for them), and the stream's
 * `beforeCaughtUp` (the upper layers' indexing) has resolved. A feed the peer offered and did not
 * prove to us is not waited for: it never became ours.
 */
import type { HypercoreFeed } from '../feed.js'
import type { OfferList } from '../messages.js'

/** A held feed and how many of its blocks the peer offered. */
interface Target<T> {
  feed: HypercoreFeed<T>
  blocks: number
}

/** The feeds of the peer's first offers that this side holds, with the blocks offered of each. */
export function caughtUpTargets<T>(
  lists: readonly OfferList[],
  knownFeed: (id: string) => HypercoreFeed<T> | undefined,
): Target<T>[] {
  const targets: Target<T>[] = []
  for (const list of lists) {
    for (let i = 0; i < list.count; i++) {
      const offer = list.at(i)
      const feed = knownFeed(offer.key.toString('hex'))
      if (feed && offer.length > 0) targets.push({ feed, blocks: offer.length })
    }
  }
  return targets
}

/** Resolves true once every target holds its blocks; false when `ended` settles before. */
export async function whenCaughtUp<T>(targets: Target<T>[], ended: Promise<void>): Promise<boolean> {
  const cancels: Array<() => void> = []
  const held = targets.map(
    ({ feed, blocks }) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (feed.blocks < blocks) return
          feed.off('append', check)
          resolve()
        }
        feed.on('append', check)
        cancels.push(() => feed.off('append', check))
        check()
      }),
  )
  try {
    await Promise.race([Promise.all(held), ended])
  } finally {
    for (const cancel of cancels) cancel()
  }
  return targets.every(({ feed, blocks }) => feed.blocks >= blocks)
}
