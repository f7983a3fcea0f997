/**
 * Promise-only hooks a view made by `levelView` also carries, so the indexer can skip the dual
 * call-style layers (`callHook` + `withCallback`: promises, a `nextTick` and several hops per hook
 * per batch). The indexer uses them only while the view's public `map` and `storeState` are still
 * the ones they came with: a view whose hooks were replaced gets its own hooks called.
 */
import type { Entry, View } from './types.js'

const DIRECT_HOOKS = Symbol('kappadb.directHooks')

export interface DirectHooks<T> {
  /** The public hooks these stand for. */
  map: View<T, object>['map']
  storeState: View<T, object>['storeState']
  mapNow(entries: Entry<T>[]): Promise<void>
  storeStateNow(state: Uint8Array): Promise<void>
}

/** Attaches `hooks` to `view` (not enumerable: a spread copy of the view does not carry them). */
export function attachDirectHooks<T, V extends View<T, object>>(view: V, hooks: DirectHooks<T>): V {
  Object.defineProperty(view, DIRECT_HOOKS, { value: hooks, enumerable: false })
  return view
}

/** The direct hooks of `view`, when it has them and its public hooks are still theirs. */
export function directHooksOf<T>(view: View<T, object>): DirectHooks<T> | null {
  const hooks = (view as { [DIRECT_HOOKS]?: DirectHooks<T> })[DIRECT_HOOKS]
  if (!hooks || hooks.map !== view.map || hooks.storeState !== view.storeState) return null
  return hooks
}
