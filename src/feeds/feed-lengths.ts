/**
 * A feed's `length` (in entries) follows its Hypercore's contiguous blocks asynchronously: a block
 * that arrived (`'download'`) is counted only once the feeds layer has read its header. Between
 * the two, `length` understates what is stored locally, and "indexed up to `length`" would claim
 * a catch-up that is not one (a replicated node already stored, yet not in any view). Readiness
 * therefore counts a feed as current only when every contiguous block is accounted for.
 */
import type { Feed } from './types.js'
import { safetyCatch } from '../util/errors.js'

/** The feed's `length` covers every contiguous block its Hypercore holds. */
export function lengthIsCurrent(feed: Pick<Feed, 'upToDate'>): boolean {
  return feed.upToDate
}

/**
 * Brings the `length` of every lagging feed up to its Hypercore's contiguous blocks. A feed whose
 * update fails (an invalid block) keeps its length: the feeds layer reports that failure itself.
 */
export async function catchUpLengths(feeds: readonly Feed<unknown>[]): Promise<void> {
  const lagging = feeds.filter((feed) => !lengthIsCurrent(feed))
  if (lagging.length === 0) return
  await Promise.all(lagging.map((feed) => feed.update().catch(safetyCatch)))
}
