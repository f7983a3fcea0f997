/**
 * Test helpers for the hyperlog layer: `createLog(t, opts?)` opens a Hyperlog in a fresh temp
 * directory, closed and removed when the test ends; `sync(a, b, opts?)` runs one replication
 * between two logs over in-process pipes; `collect(stream)` gathers a stream's nodes; `toMap(log)`
 * is the original tests' `{ key: { value, links } }` view of a log.
 */
import type { Readable } from 'node:stream'
import type { TestContext } from 'node:test'
import { openInTemp } from './temp.js'
import { errorOf, settled } from './feeds.js'
import { Hyperlog, type HyperlogOptions, type HyperlogReplicateOptions } from '../../src/hyperlog/index.js'

export function createLog<T = unknown>(
  t: TestContext,
  opts: HyperlogOptions = {},
): Promise<Hyperlog<T> & { dir: string }> {
  return openInTemp(t, 'kappadb-hyperlog-', (dir) => new Hyperlog<T>(dir, opts))
}

export function collect<N>(stream: Readable): Promise<N[]> {
  return stream.toArray() as Promise<N[]>
}

/** The original tests' `toJSON`: every node as `{ [key]: { value, links } }`. */
export async function toMap(
  log: Hyperlog<any>,
): Promise<Record<string, { value: unknown; links: string[] }>> {
  const map: Record<string, { value: unknown; links: string[] }> = {}
  for await (const node of log.createReadStream()) map[node.key] = { value: node.value, links: node.links }
  return map
}

/** `a.replicate(true)` ⇄ `b.replicate(false)`; resolves when both streams closed, rejects on an error. */
export function sync(
  a: Hyperlog<any>,
  b: Hyperlog<any>,
  optsA: HyperlogReplicateOptions = {},
  optsB: HyperlogReplicateOptions = optsA,
): Promise<void> {
  const sa = a.replicate(true, optsA)
  const sb = b.replicate(false, optsB)
  sa.pipe(sb).pipe(sa)
  return Promise.all([settled(sa), settled(sb)]).then(() => undefined)
}

export { errorOf, settled }
