/**
 * A view's stored positions, through its state hooks (messages.ts has the layouts): loaded at
 * start, stored after each batch, reset when the view starts from scratch. A view with
 * `storeFeedState` and `fetchFeedStates` keeps one record per feed, and a batch writes its own
 * feed's alone; any other view keeps every position in the one state it stores each batch.
 */
import { KappaError } from '../errors.js'
import type { FeedKey } from '../feeds/types.js'
import { callHook } from './call-hook.js'
import type { DirectHooks } from './direct-hooks.js'
import {
  decodeFeedPosition,
  decodePositions,
  encodeFeedPosition,
  encodePositions,
  encodePositionsWith,
  encodeStateHeader,
  type PositionsLayout,
} from './messages.js'
import type { View } from './types.js'

type AnyView = View<never, object>

/** Which layout `view` stores its positions in. */
export function layoutOf(view: AnyView): PositionsLayout {
  const perFeed = view.storeFeedState && view.fetchFeedStates && view.storeState && view.fetchState
  return perFeed ? 'per-feed' : 'whole'
}

/**
 * The stored positions of `view` at `version`, or null when there are none of that version and
 * layout (a first start, a crash while clearing, another version): the view then starts from
 * scratch (`resetPositions`).
 */
export async function loadPositions(
  view: AnyView,
  name: string,
  version: number,
): Promise<{ indexed: Map<FeedKey, number> | null; stored: boolean }> {
  const stored = view.fetchState
    ? await callHook<Uint8Array | null | undefined>(view.fetchState, view, [])
    : null
  if (stored !== null && stored !== undefined && !(stored instanceof Uint8Array)) {
    throw new KappaError('ERR_STORAGE', `view '${name}': fetchState gave something other than bytes`)
  }
  if (!stored || stored.byteLength === 0) return { indexed: null, stored: false }
  const positions = decodePositions(stored)
  const layout = positions.layout ?? 'whole'
  if (positions.version !== version || layout !== layoutOf(view)) return { indexed: null, stored: true }
  if (layout === 'whole') return { indexed: positions.indexed, stored: true }
  const records = await callHook<Array<[FeedKey, Uint8Array]> | undefined>(view.fetchFeedStates!, view, [])
  const indexed = new Map<FeedKey, number>()
  for (const [key, bytes] of records ?? []) {
    if (!(bytes instanceof Uint8Array)) {
      throw new KappaError('ERR_STORAGE', `view '${name}': fetchFeedStates gave something other than bytes`)
    }
    const count = decodeFeedPosition(bytes)
    if (count > 0) indexed.set(key, count)
  }
  return { indexed, stored: true }
}

/** The state a view starting from scratch stores: its version, and no position. */
export function freshState(view: AnyView, version: number): Buffer {
  return layoutOf(view) === 'per-feed'
    ? encodeStateHeader(version)
    : encodePositions({ version, indexed: new Map() })
}

/**
 * Stores, with the batch just mapped, the position of feed `key` (`count` entries indexed);
 * `positions` are the others' (the per-feed layout does not read them). `direct`: the view's
 * promise-only hooks, when it has them.
 */
export function storeBatchPosition(
  view: AnyView,
  direct: DirectHooks<never> | null,
  version: number,
  positions: ReadonlyMap<FeedKey, number>,
  key: FeedKey,
  count: number,
): Promise<void> {
  if (layoutOf(view) === 'per-feed') {
    const bytes = encodeFeedPosition(count)
    if (direct?.storeFeedStateNow) return direct.storeFeedStateNow(key, bytes)
    return callHook(view.storeFeedState!, view, [key, bytes])
  }
  if (!view.storeState) return Promise.resolve()
  // The positions as they will be once this batch is stored (the caller's map moves only after).
  const bytes = encodePositionsWith(version, positions, key, count)
  if (direct) return direct.storeStateNow(bytes)
  return callHook(view.storeState, view, [bytes])
}
