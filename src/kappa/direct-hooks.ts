/**
 * Promise-only hooks recorded for each view made by `levelView` (in a WeakMap, not on the view), so the indexer can skip the dual
 * call-style layers (`callHook` + `withCallback`: promises, a `nextTick` and several hops per hook
 * per batch). The indexer uses them only while the view's public `map` and state hooks are still
 * the ones they came with: a view whose hooks were replaced gets its own hooks called.
 */
import type { FeedKey } from '../feeds/types.js'
import type { Entry, View } from './types.js'

/** Kept beside the views, never on them: a view is the app's object. */
const directHooks = new WeakMap<object, DirectHooks<never>>()

export interface DirectHooks<T> {
  /** The public hooks these stand for. */
  map: View<T, object>['map']
  storeState: View<T, object>['storeState']
  storeFeedState?: View<T, object>['storeFeedState']
  mapNow(entries: Entry<T>[]): Promise<void>
  storeStateNow(state: Uint8Array): Promise<void>
  storeFeedStateNow?(feedKey: FeedKey, state: Uint8Array): Promise<void>
}

/** Records `hooks` for `view` (a copy of the view has none: its own hooks are called). */
export function attachDirectHooks<T, V extends View<T, object>>(view: V, hooks: DirectHooks<T>): V {
  directHooks.set(view, hooks as unknown as DirectHooks<never>)
  return view
}

/** The direct hooks of `view`, when it has them and its public hooks are still theirs. */
export function directHooksOf<T>(view: View<T, object>): DirectHooks<T> | null {
  const hooks = directHooks.get(view) as DirectHooks<T> | undefined
  if (!hooks || hooks.map !== view.map || hooks.storeState !== view.storeState) return null
  if (hooks.storeFeedState !== view.storeFeedState) return null
  return hooks
}
