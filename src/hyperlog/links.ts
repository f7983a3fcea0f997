/**
 * Normalizes the links argument of `add`/`batch` as hyperlog accepted it: null → [], a single link
 * → [link], a node (anything with a `key`) → its key.
 */
import { KappaError } from '../errors.js'
import type { LinksInput, NodeHash } from './types.js'

export function normalizeLinks(links: LinksInput): NodeHash[] {
  if (links === null || links === undefined) return []
  const list = Array.isArray(links) ? (links as readonly unknown[]) : [links]
  return list.map(toKey)
}

function toKey(link: unknown): NodeHash {
  const key = typeof link === 'object' && link !== null ? (link as { key?: unknown }).key : link
  if (typeof key !== 'string' || key.length === 0) {
    throw KappaError.invalid('a link must be a node hash or a node with a key')
  }
  return key as NodeHash
}
