/**
 * The Corestore behind a Multifeed: a directory (we own and close the store) or a given Corestore
 * (the caller owns it; we only use and close a namespace session of it). Created synchronously so
 * `replicate()` can hand out a stream before the store has finished opening.
 */
import Corestore from 'corestore'
import { KappaError } from '../errors.js'

export interface StoreHandle {
  /** The root store: replication streams come from it. */
  root: Corestore
  /** This database's namespace session: writers by name, the feed list. */
  ns: Corestore
  /** Whether we opened the root (then we close it); a given Corestore stays open. */
  owned: boolean
}

export function isCorestore(value: unknown): value is Corestore {
  return value instanceof Corestore
}

export function createStore(storage: string | Corestore, namespace: string): StoreHandle {
  const owned = typeof storage === 'string'
  const root = owned ? new Corestore(storage) : storage
  return { root, ns: root.namespace(namespace), owned }
}

export async function readyStore(handle: StoreHandle): Promise<void> {
  try {
    await handle.root.ready()
    await handle.ns.ready()
  } catch (err) {
    throw storeError(err)
  }
}

export async function closeStore(handle: StoreHandle): Promise<void> {
  await handle.ns.close()
  if (handle.owned) await handle.root.close()
}

/** Corestore's lock failure has no code, only the message "File descriptor could not be locked". */
export function storeError(err: unknown): KappaError {
  if (err instanceof KappaError) return err
  const message = err instanceof Error ? err.message : String(err)
  if (/could not be locked/i.test(message)) {
    return new KappaError('ERR_LOCKED', 'the storage is held by another open store', { cause: err })
  }
  if (/closed/i.test(message)) return new KappaError('ERR_CLOSED', message, { cause: err })
  return new KappaError('ERR_STORAGE', message, { cause: err })
}
