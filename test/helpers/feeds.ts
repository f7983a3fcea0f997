/**
 * Test helpers for the feeds layer: `create(t, opts?)` opens a Multifeed in a fresh temp directory
 * that is closed and removed when the test ends; `replicate(a, b, opts?)` runs one replication
 * between two Multifeeds (in-process pipes) and resolves once both streams have closed.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import type { TestContext } from 'node:test'
import { openInTemp, tempDir } from './temp.js'
import { Multifeed, type MultifeedOptions } from '../../src/feeds/multifeed.js'
import type Hypercore from 'hypercore'
import { HypercoreFeed, leaseCore } from '../../src/feeds/feed.js'
import type { Feed, ReplicateOptions } from '../../src/feeds/types.js'
import type { KappaError } from '../../src/errors.js'

/** A Multifeed in a fresh temp directory; closed (before the directory is removed) at the end. */
export function create<T = unknown>(
  t: TestContext,
  opts: MultifeedOptions = {},
): Promise<Multifeed<T> & { dir: string }> {
  return openInTemp(t, 'kappadb-feeds-', (dir) => new Multifeed<T>(dir, opts))
}

export interface ReplicationResult {
  /** The `'remote-feeds'` event fired on each side's stream. */
  remoteFeeds: [boolean, boolean]
}

/**
 * Pipes `a.replicate(true)` to `b.replicate(false)` and resolves when both streams have closed;
 * rejects with the first stream error. Live streams resolve never: use `replicateLive`.
 */
export function replicate(
  a: Multifeed<any>,
  b: Multifeed<any>,
  opts: ReplicateOptions = {},
): Promise<ReplicationResult> {
  const sa = a.replicate(true, opts)
  const sb = b.replicate(false, opts)
  return runPair(sa, sb)
}

/** Runs one sync a → b (`b` with `opts`) and counts the bytes each side wrote. */
export async function countedSync(
  a: Multifeed<any>,
  b: Multifeed<any>,
  opts: ReplicateOptions = {},
): Promise<{ ab: number; ba: number }> {
  const sa = a.replicate(true)
  const sb = b.replicate(false, opts)
  const bytes = { ab: 0, ba: 0 }
  sa.on('data', (chunk: Buffer) => (bytes.ab += chunk.byteLength))
  sb.on('data', (chunk: Buffer) => (bytes.ba += chunk.byteLength))
  await runPair(sa, sb)
  return bytes
}

/** Resolves when both streams closed cleanly; rejects with the first error of either. */
export function runPair(sa: Duplex, sb: Duplex): Promise<ReplicationResult> {
  const result: ReplicationResult = { remoteFeeds: [false, false] }
  sa.once('remote-feeds', () => (result.remoteFeeds[0] = true))
  sb.once('remote-feeds', () => (result.remoteFeeds[1] = true))
  sa.pipe(sb).pipe(sa)
  return Promise.all([settled(sa), settled(sb)]).then(() => result)
}

/** Live replication between a and b; returns a function that ends it and waits for the close. */
export function replicateLive(
  a: Multifeed<any>,
  b: Multifeed<any>,
  opts: ReplicateOptions = {},
): () => Promise<void> {
  const sa = a.replicate(true, { ...opts, live: true })
  const sb = b.replicate(false, { ...opts, live: true })
  sa.pipe(sb).pipe(sa)
  const errors: Error[] = []
  sa.on('error', (err: Error) => errors.push(err))
  sb.on('error', (err: Error) => errors.push(err))
  return async () => {
    const closed = Promise.all([closedOf(sa), closedOf(sb)])
    sa.destroy()
    sb.destroy()
    await closed
  }
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

/** The KappaError `finished()` rejected with; fails the test when it resolved. */
export async function rejection(promise: Promise<void>): Promise<KappaError> {
  try {
    await promise
  } catch (err) {
    return err as KappaError
  }
  assert.fail('finished() resolved')
}

/** The stream's first error (or null when it closed without one). */
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

function closedOf(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed && stream.closed) resolve()
    else stream.once('close', () => resolve())
  })
}

export { tempDir }

/**
 * Serves `m.replicate(socket, opts)` to every connection on 127.0.0.1 (closed when the test ends);
 * the port, and each stream's end (its first error, or null).
 */
export async function serveReplication(
  t: TestContext,
  m: Multifeed<any>,
  opts: ReplicateOptions = {},
): Promise<{ port: number; ends: Array<Promise<(Error & { code?: string }) | null>> }> {
  const ends: Array<Promise<(Error & { code?: string }) | null>> = []
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined)
    ends.push(errorOf(m.replicate(socket, opts)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { port: (server.address() as net.AddressInfo).port, ends }
}

/**
 * The Hypercore under `feed`, opened and held open until its store closes: for tests that work on
 * raw blocks (a feed's core is not part of its API).
 */
export async function coreOf(feed: Feed<unknown>): Promise<Hypercore> {
  return (await leaseCore(feed)).core
}

/** The signed length (in blocks) of `feed`'s core, from its open core or the store's feed index. */
export function signedLengthOf(feed: Feed<unknown>): number {
  if (!(feed instanceof HypercoreFeed)) throw new Error('not a feed of a Multifeed')
  return feed.signedLength
}
