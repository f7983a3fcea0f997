export type {
  WriterKey,
  Role,
  LogKind,
  MembershipOp,
  AddOp,
  RemoveOp,
  MembershipRecord,
  HeldTrees,
  MemberInfo,
  Inclusion,
  PendingPin,
} from './types.js'
export { NO_TREES } from './types.js'
export { RECORD_VERSION, encodeRecord, readRecord, writerKeyBytes, type ReadRecord } from './messages.js'
export { foldMembership } from './fold.js'
export { Membership, covers, type Pin, type MemberState } from './membership.js'
