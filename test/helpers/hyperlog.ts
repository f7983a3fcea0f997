/**
 * Test helpers for the hyperlog layer: `createLog(t, opts?)` opens a Hyperlog in a fresh temp
 * directory, closed and removed when the test ends; `sync(a, b, opts?)` runs one replication
 * between two logs over in-process pipes; `collect(stream)` gathers a stream's nodes; `toMap(log)`
 * is the original tests' `{ key: { value, links } }` view of a log.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex, Readable } from 'node:stream'
import type { TestContext } from 'node:test'
import { Hyperlog, type HyperlogOptions, type HyperlogReplicateOptions } from '../../src/hyperlog/index.js'

export async function createLog<T = unknown>(
  t: TestContext,
  opts: HyperlogOptions = {},
): Promise<Hyperlog<T> & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kappadb-hyperlog-'))
  const log = Object.assign(new Hyperlog<T>(dir, opts), { dir })
  t.after(async () => {
    await log.close()
    await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  })
  await log.ready()
  return log
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

/** Resolves on 'close' without an error; rejects with the stream's first error. */
export function settled(stream: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.closed) return stream.errored ? reject(stream.errored) : resolve()
    let error: Error | null = null
    stream.once('error', (err) => {
      error ??= err
    })
    stream.once('close', () => (error ? reject(error) : resolve()))
  })
}

/** The stream's first error, or null when it closed without one. */
export function errorOf(stream: Duplex): Promise<(Error & { code?: string }) | null> {
  return new Promise((resolve) => {
    if (stream.closed) return resolve(stream.errored)
    let error: Error | null = null
    stream.once('error', (err) => {
      error ??= err
    })
    stream.once('close', () => resolve(error))
  })
}
