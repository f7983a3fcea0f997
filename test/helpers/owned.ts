/**
 * Owned databases in tests: one sync of two stores (data and membership logs, both ways, on the
 * one connection `core.replicate` makes), then both folded what they hold and their views caught
 * up. `syncMembers` exchanges the membership records alone (`members.replicate()`), for tests
 * that must keep some data from a store.
 */
import { finished } from 'node:stream/promises'
import type { Kappa } from '../../src/kappa/index.js'
import type { HyperKV } from '../../src/kv/index.js'
import { sync } from './kappa.js'
import { replicate } from './kv.js'

/** Only the membership records (both ways), both stores folded them. */
export async function syncMembers(a: Kappa<any, any>, b: Kappa<any, any>): Promise<void> {
  const left = a.members!.replicate(true)
  const right = b.members!.replicate(false)
  left.pipe(right).pipe(left)
  await Promise.all([finished(left), finished(right)])
  await Promise.all([a.members!.ready(), b.members!.ready()])
}

export async function syncOwned(a: Kappa<any, any>, b: Kappa<any, any>): Promise<void> {
  await sync(a, b)
  await Promise.all([a.members!.ready(), b.members!.ready()])
  await Promise.all([a.ready(), b.ready()])
}

/** Two owned HyperKVs: one sync, both registers caught up. */
export async function syncOwnedKv(a: HyperKV, b: HyperKV): Promise<void> {
  await replicate(a, b)
  await Promise.all([a.members!.ready(), b.members!.ready()])
  await Promise.all([a.log.kappa.ready(), b.log.kappa.ready(), a.ready(), b.ready()])
}
