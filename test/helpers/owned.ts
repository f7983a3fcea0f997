/**
 * Owned databases in tests: one sync of two stores' data and membership logs (both ways), then
 * both folded what they hold and their views caught up.
 */
import { finished } from 'node:stream/promises'
import type { Kappa } from '../../src/kappa/index.js'
import { sync } from './kappa.js'

export async function syncOwned(a: Kappa<any, any>, b: Kappa<any, any>): Promise<void> {
  const left = a.members!.replicate(true)
  const right = b.members!.replicate(false)
  left.pipe(right).pipe(left)
  await Promise.all([finished(left), finished(right)])
  await sync(a, b)
  await Promise.all([a.members!.ready(), b.members!.ready()])
  await Promise.all([a.ready(), b.ready()])
}
