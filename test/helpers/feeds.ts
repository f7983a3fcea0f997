/**
 * Test helpers for the feeds layer: `create(t, opts?)` opens a Multifeed in a fresh temp directory
 * that is closed and removed when the test ends.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { Multifeed, type MultifeedOptions } from '../../src/feeds/multifeed.js'

/** A fresh temp directory, removed when the test ends. */
export async function tempDir(t: TestContext, prefix = 'kappadb-feeds-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }))
  return dir
}

/** A Multifeed in a fresh temp directory; closed (before the directory is removed) at the end. */
export async function create<T = unknown>(
  t: TestContext,
  opts: MultifeedOptions = {},
): Promise<Multifeed<T> & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kappadb-feeds-'))
  const m = Object.assign(new Multifeed<T>(dir, opts), { dir })
  // One hook, so the store is closed before its directory goes.
  t.after(async () => {
    await m.close()
    await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  })
  await m.ready()
  return m
}

/** Resolves once `predicate()` holds, checked after every 'append'/'feed' event and every 10 ms. */
export async function until(predicate: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
