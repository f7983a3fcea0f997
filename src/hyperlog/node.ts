/**
 * Turns a record of the DAG index into the node users see.
 */
import type { NodeRecord } from './messages.js'
import type { HyperlogNode, HyperlogValueEncoding, NodeHash, SignableNode } from './types.js'
import { decodeValue } from './value-encoding.js'

export function toNode<T>(
  key: NodeHash,
  record: NodeRecord,
  encoding: HyperlogValueEncoding,
): HyperlogNode<T> {
  return {
    key,
    links: record.entry.links,
    value: decodeValue(record.entry.value, encoding) as T,
    log: record.feed,
    seq: record.seq + 1,
    change: record.change,
    identity: identityOf(record),
    signature: record.entry.signature,
  }
}

/** The node as `verify` sees it: value still encoded. */
export function toSignable(key: NodeHash, record: NodeRecord): SignableNode {
  return {
    key,
    links: record.entry.links,
    value: record.entry.value,
    log: record.feed,
    seq: record.seq + 1,
    identity: identityOf(record),
    signature: record.entry.signature,
  }
}

/** The application identity, else the writer's public key (CONTRACT §3). */
function identityOf(record: NodeRecord): Buffer {
  return record.entry.identity ?? Buffer.from(record.feed, 'hex')
}
