/**
 * The local socket DIR/hyperkv.sock: only the user who owns the holding process can connect (the
 * socket is created with mode 0600, under a umask that allows nothing else, and a client connects
 * only to a socket its own user owns). A socket left by a holder that was killed refuses
 * connections: it is stale, and whoever holds DIR next removes it.
 *
 * A Unix socket's path is short (107 bytes on Linux). When DIR/hyperkv.sock is longer, the socket
 * lives in a directory of this user's alone, TMPDIR/hyperkv-UID (mode 0700), named by a hash of
 * DIR's real path, so every spelling of DIR finds the same socket.
 */
import { createHash } from 'node:crypto'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { chmod, lstat, mkdir, realpath, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KappaError } from '../../errors.js'
import { safetyCatch } from '../../util/errors.js'

export const SOCKET_NAME = 'hyperkv.sock'
/** A Unix socket's path holds at most this many bytes (Linux `sun_path`, 108 with its NUL). */
export const MAX_SOCKET_PATH_BYTES = 107

/** Where DIR's holder listens: DIR/hyperkv.sock, or when that is too long, a socket in `socketsDir()`. */
export async function socketPath(dir: string): Promise<string> {
  // Decided on the real path: a short spelling (a symlink) of a long DIR finds the same socket.
  const real = await realpath(dir).catch(() => dir)
  const inDir = join(real, SOCKET_NAME)
  if (socketPathFits(inDir)) return inDir
  const name = createHash('sha256').update(real).digest('hex').slice(0, 32)
  return join(socketsDir(), `${name}.sock`)
}

/** This user's directory for sockets of directories whose own path is too long. */
export function socketsDir(): string {
  const base = tmpdir()
  const uid = process.getuid?.() ?? 0
  const dir = join(base, `hyperkv-${uid}`)
  // A TMPDIR too long to hold a socket name: the system's own.
  return socketPathFits(join(dir, `${'0'.repeat(32)}.sock`)) ? dir : `/tmp/hyperkv-${uid}`
}

/**
 * Makes the directory of `path` when it is `socketsDir()`, and checks that it is this user's alone:
 * another user's directory there (made to catch our socket) is refused, never used.
 */
async function prepareParent(path: string): Promise<void> {
  const dir = socketsDir()
  if (!path.startsWith(dir + '/')) return
  await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err
  })
  const stat = await lstat(dir)
  const uid = process.getuid?.()
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o077) !== 0) {
    throw new KappaError('ERR_STORAGE', `${dir} is not a directory of this user's alone (mode 0700)`)
  }
}

export function socketPathFits(path: string): boolean {
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES
}

/** What is at the socket's path: nothing, a socket of this user, or something else. */
export type SocketEntry = 'none' | 'ours' | 'foreign'

export async function inspectSocket(path: string): Promise<SocketEntry> {
  let stat
  try {
    stat = await lstat(path)
  } catch {
    return 'none'
  }
  if (!stat.isSocket()) return 'foreign'
  const uid = process.getuid?.()
  if (uid !== undefined && stat.uid !== uid) return 'foreign'
  return 'ours'
}

/** `'refused'`: a socket nobody listens on (stale). `'absent'`: gone meanwhile or unusable. */
export type ConnectResult =
  { state: 'connected'; socket: Socket } | { state: 'refused' } | { state: 'absent' }

export function connectSocket(path: string): Promise<ConnectResult> {
  return new Promise((resolve) => {
    if (!socketPathFits(path)) return resolve({ state: 'absent' })
    const socket = connect(path)
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.destroy()
      resolve({ state: err.code === 'ECONNREFUSED' ? 'refused' : 'absent' })
    }
    socket.once('error', onError)
    socket.once('connect', () => {
      socket.off('error', onError)
      resolve({ state: 'connected', socket })
    })
  })
}

/**
 * Listens on `path`, replacing a stale socket there. Only called while holding DIR's storage lock,
 * so no live holder can be listening on it. Something that is not our socket is left alone.
 */
export async function listenSocket(path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  if (!socketPathFits(path)) {
    throw new KappaError('ERR_STORAGE', `the path ${path} is too long for a local socket`)
  }
  await prepareParent(path)
  const entry = await inspectSocket(path)
  if (entry === 'foreign') throw new KappaError('ERR_STORAGE', `${path} exists and is not this user's socket`)
  if (entry === 'ours') await unlink(path).catch(safetyCatch)
  const server = createServer({ allowHalfOpen: false }, onConnection)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // The socket file takes its mode from the umask when it is bound (synchronously, inside
    // listen()): no moment exists in which another user could connect.
    const umask = process.umask(0o177)
    try {
      server.listen(path, () => {
        server.off('error', reject)
        resolve()
      })
    } finally {
      process.umask(umask)
    }
  })
  await chmod(path, 0o600)
  // A failure of one connection never reaches the server; the server's own errors are ignored
  // after listening (the holder goes on without serving).
  server.on('error', () => undefined)
  return server
}

/** Removes the socket at `path` if it is ours: only while holding DIR (nobody listens on it). */
export async function removeSocket(path: string): Promise<void> {
  if ((await inspectSocket(path)) === 'ours') await unlink(path).catch(safetyCatch)
}
