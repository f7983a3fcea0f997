/**
 * Turns a record of the DAG index into the node users see.
 */
import { jsonTooDeep } from '../feeds/limits.js'
import type { KnownNode } from './dag-indexer.js'
import type { NodeRecord } from './messages.js'
import type { HyperlogNode, HyperlogValueEncoding, NodeHash, NodeSeq, SignableNode } from './types.js'
import { decodeValue } from './value-encoding.js'

export function toNode<T>(
  key: NodeHash,
  record: NodeRecord,
  encoding: HyperlogValueEncoding,
  decoded?: { encoding: HyperlogValueEncoding; value: unknown },
): HyperlogNode<T> {
  return {
    key,
    links: record.entry.links,
    value: (decoded && decoded.encoding === encoding
      ? decoded.value
      : decodeValue(record.entry.value, encoding)) as T,
    log: record.feed,
    seq: nodeSeq(record.seq),
    change: record.change,
    identity: identityOf(record),
    signature: record.entry.signature,
  }
}

/**
 * `toNode`, made once per known node and encoding: a node a batch makes visible is handed to the
 * in-line indexes, the `'add'` listeners and the write that added it, which then share one
 * decoded value. (hyperlog gave `'add'` and the callback one object too.)
 */
export function sharedNode<T>(known: KnownNode, encoding: HyperlogValueEncoding): HyperlogNode<T> {
  const shared = known.shared
  if (shared && shared.encoding === encoding) return shared.node as HyperlogNode<T>
  const node = toNode<T>(known.hash, known.record, encoding, known.decoded)
  known.decoded = undefined
  known.shared = { encoding, node: node as HyperlogNode<unknown> }
  return node
}

/**
 * Whether a replicated node's value is one this log could have written: it decodes with the log's
 * encoding (a peer may write anything: a binary log's bytes are not JSON) and, as JSON, nests at
 * most MAX_VALUE_DEPTH deep (checked on the bytes, before parsing). Binary and utf-8 decode
 * anything; a json or custom codec's value is decoded once here and kept for `sharedNode`.
 */
export function valueDecodes(known: KnownNode, encoding: HyperlogValueEncoding): boolean {
  if (typeof encoding === 'string' && encoding !== 'json') return true
  if (encoding === 'json' && jsonTooDeep(known.record.entry.value)) return false
  try {
    known.decoded = { encoding, value: decodeValue(known.record.entry.value, encoding) }
    return true
  } catch {
    return false
  }
}

/** The node as `verify` sees it: value still encoded. */
export function toSignable(key: NodeHash, record: NodeRecord): SignableNode {
  return {
    key,
    links: record.entry.links,
    value: record.entry.value,
    log: record.feed,
    seq: nodeSeq(record.seq),
    identity: identityOf(record),
    signature: record.entry.signature,
  }
}

/** The node seq (1-based) of the feed entry `entrySeq` (0-based). */
export function nodeSeq(entrySeq: number): NodeSeq {
  return (entrySeq + 1) as NodeSeq
}

/** The application identity, else the writer's public key. */
function identityOf(record: NodeRecord): Buffer {
  return record.entry.identity ?? writerKey(record.feed)
}

/** Writers' public keys as bytes: one decoded key per writer, not one per node. */
const writerKeys = new Map<string, Buffer>()

function writerKey(feed: string): Buffer {
  let key = writerKeys.get(feed)
  if (key === undefined) {
    // A handful of writers in practice; bounded anyway.
    if (writerKeys.size >= 1024) writerKeys.clear()
    writerKeys.set(feed, (key = Buffer.from(feed, 'hex')))
  }
  return key
}
