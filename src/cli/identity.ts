/**
 * This directory's peer identity: the Hyperswarm key pair `join` uses, kept in DIR/peer.key (mode
 * 0600) so peers see the same peer across runs. Made on the first `join`.
 */
import { chmod, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import crypto from 'hypercore-crypto'
import { KappaError } from '../errors.js'
import { decodePeerKey, encodePeerKey } from './messages.js'
import { safetyCatch } from '../util/errors.js'

export const PEER_KEY_FILE = 'peer.key'

export interface PeerKeyPair {
  publicKey: Buffer
  secretKey: Buffer
}

/** The key pair in `dir`, made (and stored) when there is none. */
export async function peerKeyPair(dir: string): Promise<PeerKeyPair> {
  const path = join(dir, PEER_KEY_FILE)
  let bytes: Buffer | null = null
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (bytes !== null) {
    const pair = checked(bytes, path)
    // Readable by others (copied, restored from a backup): make it ours alone again.
    if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600)
    return pair
  }
  const pair = crypto.keyPair()
  await writePrivate(path, encodePeerKey(pair.secretKey))
  return { publicKey: pair.publicKey, secretKey: pair.secretKey }
}

function checked(bytes: Buffer, path: string): PeerKeyPair {
  let secretKey: Buffer
  try {
    secretKey = decodePeerKey(bytes)
  } catch (err) {
    throw damaged(path, err)
  }
  // The secret key holds its seed and its public key: the pair the seed makes must be that one.
  const derived = crypto.keyPair(secretKey.subarray(0, 32))
  if (!derived.secretKey.equals(secretKey)) throw damaged(path)
  return { publicKey: derived.publicKey, secretKey }
}

function damaged(path: string, cause?: unknown): KappaError {
  return new KappaError(
    'ERR_STORAGE',
    `${path} is damaged: remove it and this directory gets a new peer id`,
    {
      cause,
    },
  )
}

/** Written under another name with mode 0600, then renamed: never half a key, never readable by others. */
async function writePrivate(path: string, bytes: Buffer): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  const file = await open(temporary, 'wx', 0o600)
  try {
    await file.writeFile(bytes)
    await file.sync()
  } finally {
    await file.close()
  }
  try {
    await rename(temporary, path)
  } catch (err) {
    await unlink(temporary).catch(safetyCatch)
    throw err
  }
}
