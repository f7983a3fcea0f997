export { join, Join } from './join.js'
export { joinLive } from './join-live.js'
export type { JoinLiveOptions, LiveReplicable } from './join-live.js'
export { topicFromName, topicFromKey, toTopic } from './topic.js'
export type { Topic, TopicInput } from './topic.js'
export { parseBootstrap, BOOTSTRAP_ENV } from './bootstrap.js'
export type { BootstrapInput, NodeAddress } from './bootstrap.js'
export type {
  BootstrapState,
  HyperDHTLike,
  HyperswarmLike,
  JoinOptions,
  JoinEvents,
  JoinPeer,
  ReplicateConnection,
  SecretStreamLike,
} from './types.js'
