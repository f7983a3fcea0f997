export { listView, ListWatch } from './list-view.js'
export type {
  ListCallback,
  ListMap,
  ListRange,
  ListReadOptions,
  ListViewApi,
  ListViewOptions,
  ListWatchEvents,
} from './list-view.js'
export { kvView, KvWatch } from './kv-view.js'
export type {
  KvViewApi,
  KvViewChange,
  KvViewMap,
  KvViewOp,
  KvViewOptions,
  KvViewRange,
  KvViewReadOptions,
  KvViewRow,
  KvWatchEvents,
} from './kv-view.js'
export { entryId, parseEntryId } from './keys.js'
export type { EntryId, SortKey } from './keys.js'
export type { EntryMap, MapCallback } from './entries.js'
