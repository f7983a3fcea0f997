export { Kappa, kappa } from './kappa.js'
export type { ApiMap, KappaOptions, MountedApis, UsedApi, ViewNames } from './kappa.js'
export { levelView } from './level-view.js'
export { Members } from './members.js'
export type { MembershipOption, MembersEvents, MemberRow } from './members.js'
export type { MemberInfo, Role, WriterKey } from '../membership/index.js'
export type { LevelLike, LevelViewDefinition, LevelViewSetup } from './level-view.js'
export { ViewDb, ViewChainedBatch } from './view-db.js'
export type { GetCallback, ViewDbError, ViewDbKey, ViewDbOperation, SublevelOptions } from './view-db.js'
export { ViewIterator } from './view-iterator.js'
export type { ViewRangeOptions } from './view-iterator.js'
export { ViewWatch, Watch } from './view-changes.js'
export type { ViewChange, ViewWatchEvents, WatchOptions } from './view-changes.js'
export type { KeyRange } from './view-range.js'
export { ViewBatch } from './view-batch.js'
export type {
  EncodingOptions,
  LevelDb,
  LevelOperation,
  LevelSublevel,
  Lookup,
  StagedOperation,
} from './view-batch.js'
export { DEFAULT_MAX_BATCH } from './indexer.js'
export type {
  ApiFunction,
  BoundApi,
  Done,
  Entry,
  KappaEvents,
  KnownApi,
  NoApi,
  View,
  ViewApi,
  ViewHandle,
  ViewState,
  ViewStateContext,
  ViewStateName,
  VoidCallback,
} from './types.js'
export {
  decodeFeedPosition,
  decodePositions,
  encodeFeedPosition,
  encodePositions,
  encodeStateHeader,
  splitPositions,
} from './messages.js'
export type { PositionsLayout, ViewPositions } from './messages.js'
