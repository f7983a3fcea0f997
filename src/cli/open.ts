/**
 * Opening the data directory as a HyperKV (log and register inside it), created when missing. Only
 * called once the command line checked out, so bad input never creates or changes anything.
 */
import { mkdir } from 'node:fs/promises'
import { hyperkv, type HyperKV } from '../kv/index.js'

/** Opens the store and waits until it is usable, so a held lock fails here, before any work. */
export async function openStore(dir: string): Promise<HyperKV> {
  await mkdir(dir, { recursive: true })
  const kv = hyperkv(dir)
  try {
    // A directory held by another process fails here with ERR_LOCKED (HyperKV waits for its log).
    await kv.ready()
  } catch (err) {
    await kv.close().catch(() => undefined)
    throw err
  }
  return kv
}
