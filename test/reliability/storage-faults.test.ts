/**
 * Storage faults: a full disk fails writes with ERR_STORAGE naming the cause (ENOSPC), loses
 * nothing acknowledged, and once space is back writes succeed in the same process, without a
 * reopen. The stores live on a small tmpfs mounted for the test, filled with files and freed again
 * (root only: skipped elsewhere).
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, open, rm, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import test, { type TestContext } from 'node:test'
import { isKappaError } from '../../src/errors.js'
import { HyperKV } from '../../src/kv/index.js'
import { Kappa } from '../../src/kappa/index.js'
import { Hyperlog } from '../../src/hyperlog/index.js'
import { MIN_FREE_BYTES, Multifeed, type Feed } from '../../src/feeds/index.js'
import { errorOf, replicate as syncFeeds, runPair } from '../helpers/feeds.js'
import { tempDir } from '../helpers/temp.js'
import { replicate } from '../helpers/kv.js'
import { until } from '../helpers/until.js'

const MB = 1024 * 1024

/**
 * Mounts a tmpfs of `size` MiB; null when this process may not (not root). `teardown` runs at the
 * end of the test: the stores' closing first, then the unmount and the directory's removal.
 */
async function smallDisk(
  t: TestContext,
  size: number,
  teardown: () => Promise<void>,
): Promise<string | null> {
  if (process.getuid?.() !== 0) return null
  const dir = await mkdtemp(join(tmpdir(), 'kappadb-disk-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}m`, 'tmpfs', dir], { stdio: 'ignore' })
  } catch {
    await rm(dir, { recursive: true, force: true })
    return null
  }
  t.after(async () => {
    await teardown()
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' })
    await rm(dir, { recursive: true, force: true })
  })
  return dir
}

/**
 * Fills the file system of `dir` to the last block, or until `leave` bytes are left; returns a
 * function that frees it again.
 */
async function fill(dir: string, leave = 0): Promise<() => Promise<void>> {
  const fillers = join(dir, 'fill')
  await mkdir(fillers, { recursive: true })
  let n = 0
  for (const size of [MB, 64 * 1024, 4096, 512]) {
    for (;;) {
      if (leave > 0) {
        const stats = await statfs(dir)
        if (stats.bavail * stats.bsize < leave + size) break
      }
      const file = await open(join(fillers, String(n++)), 'w')
      try {
        await file.write(Buffer.alloc(size, 1))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
        break
      } finally {
        await file.close().catch(() => undefined)
      }
    }
  }
  return () => rm(fillers, { recursive: true, force: true })
}

/**
 * 200 MiB in blocks of one 1 MiB entry each (random: nothing compresses them), more than the
 * free space the download tests leave and the 64 MiB RocksDB keeps in memory before writing it out.
 */
const ENTRIES = 200
async function bigFeed(feed: Feed<Buffer>): Promise<void> {
  for (let i = 0; i < ENTRIES; i += 10) await feed.append(Array.from({ length: 10 }, () => randomBytes(MB)))
}

/** The error `b`'s stream of one sync with `a` ends with (null: none). */
async function syncError<T>(a: Multifeed<T>, b: Multifeed<T>): Promise<Error | null> {
  const sa = a.replicate(true)
  const sb = b.replicate(false)
  const failure = errorOf(sb)
  await runPair(sa, sb).catch(() => undefined)
  return failure
}

const noSpace = (err: unknown) => isKappaError(err, 'ERR_STORAGE') && /ENOSPC/.test((err as Error).message)
const valuesOf = (row: Record<string, object>) => Object.values(row).map((v) => ('value' in v ? v.value : v))

test('a full disk: puts and appends fail with ERR_STORAGE (ENOSPC); once it is freed they succeed in the same process; nothing acknowledged is lost', async (t) => {
  const stores: { close(): Promise<void> }[] = []
  const disk = await smallDisk(t, 256, async () => {
    for (const store of stores) await store.close()
  })
  if (!disk) return t.skip('needs root to mount a tmpfs')
  const root = await tempDir(t)
  let kv = new HyperKV(join(disk, 'kv'))
  const kappa = new Kappa<unknown>(join(disk, 'kappa'))
  const peer = new HyperKV(join(root, 'peer'))
  stores.push({ close: () => kv.close() }, kappa, peer)
  const errors: Error[] = []
  kv.on('error', (err) => errors.push(err))
  const feed = await kappa.writer('w')
  await kv.put('before', 1)
  await kv.log.flush()
  await feed.append({ n: 1 })

  const free = await fill(disk)
  await assert.rejects(kv.put('full', 2), noSpace, 'a put names the cause')
  await assert.rejects(kv.batch([{ type: 'put', key: 'full', value: 3 }]), noSpace)
  await assert.rejects(feed.append({ n: 2 }), noSpace, 'an append names the cause')
  assert.deepEqual(valuesOf(await kv.get('before')), [1], 'reads go on')
  assert.equal(feed.length, 1)

  await free()
  await kv.put('after', 4)
  await kv.log.flush()
  assert.equal(await feed.append({ n: 3 }), 1, 'the feed appends again')
  assert.deepEqual(await kv.get('full'), {}, 'what failed was not written')
  await replicate(kv, peer)
  assert.deepEqual(valuesOf(await peer.get('after')), [4], 'and replicates')
  assert.deepEqual(errors, [])

  await kv.close()
  kv = new HyperKV(join(disk, 'kv'))
  assert.deepEqual(valuesOf(await kv.get('before')), [1])
  assert.deepEqual(valuesOf(await kv.get('after')), [4])
})

test('a full disk the index itself runs into (no free-space floor): the failed commit names ENOSPC, later ones wait for room, then succeed without a reopen, and a reopen finds every acknowledged write', async (t) => {
  const disk = await smallDisk(t, 256, async () => {
    await kv.close()
    await kv.log.close()
  })
  if (!disk) return t.skip('needs root to mount a tmpfs')
  const dir = join(disk, 'kv')
  const openKv = () => new HyperKV({ log: new Hyperlog(dir, { valueEncoding: 'json', minFreeBytes: 0 }) })
  let kv = openKv()
  const errors: Error[] = []
  kv.on('error', (err) => errors.push(err))
  const acknowledged: string[] = []
  const put = async (key: string) => {
    await kv.put(key, key)
    acknowledged.push(key)
  }
  await put('before')
  await kv.log.flush()

  const free = await fill(disk)
  // LevelDB's log write fails at the first commit that does not fit.
  let failure: unknown = null
  for (let i = 0; i < 50 && failure === null; i++) await put(`filling-${i}`).catch((err) => (failure = err))
  assert.ok(noSpace(failure), `the commit fails naming the cause: ${String(failure)}`)
  await assert.rejects(put('still-full'), noSpace, 'no write is acknowledged while the log is unsafe')
  assert.deepEqual(valuesOf(await kv.get('before')), ['before'], 'reads go on')
  assert.ok(errors.some(noSpace), "the store reports the fault ('error')")

  await free()
  await put('after-1')
  await put('after-2')
  await kv.log.flush()
  assert.deepEqual(valuesOf(await kv.get('after-2')), ['after-2'])

  await kv.close()
  await kv.log.close()
  kv = openKv()
  for (const key of acknowledged) {
    assert.deepEqual(valuesOf(await kv.get(key)), [key], `acknowledged write ${key} survives the reopen`)
  }
  assert.deepEqual(await kv.get('still-full'), {})
})

test('replicated nodes arriving while the disk is short: the view waits instead of failing, and indexes them once space is back', async (t) => {
  const stores: { close(): Promise<void> }[] = []
  const disk = await smallDisk(t, 256, async () => {
    for (const store of stores) await store.close()
  })
  if (!disk) return t.skip('needs root to mount a tmpfs')
  const root = await tempDir(t)
  // The index keeps a floor of its own above the downloads' (MIN_FREE_BYTES).
  const log = new Hyperlog(join(disk, 'kv'), { valueEncoding: 'json', minFreeBytes: 2 * MIN_FREE_BYTES })
  const kv = new HyperKV({ log })
  const peer = new HyperKV(join(root, 'peer'))
  stores.push(kv, log, peer)
  await kv.put('mine', 1)
  for (let i = 0; i < 20; i++) await peer.put(`theirs-${i}`, i)

  // Room for the downloads, below the index's floor.
  const free = await fill(disk, MIN_FREE_BYTES + 24 * MB)
  const a = peer.log.replicate(true)
  const b = kv.log.replicate(false)
  a.pipe(b).pipe(a)
  const ended = Promise.all([finished(a), finished(b)])
  const theirs = (await peer.log.kappa.writer('hyperlog')).key
  await until(() => (kv.log.kappa.feed(theirs)?.length ?? 0) >= 20, 'the downloads')
  assert.deepEqual(await kv.get('theirs-0'), {}, 'not indexed while short of space')
  await assert.rejects(kv.put('local', 2), noSpace)
  assert.notEqual(kv.log.kappa.getState('hyperlog').state, 'error', 'the view has not failed')

  assert.equal(kv.log.changes, 1, 'while the view waits, readers get what the index holds')
  await ended

  await free()
  // The view tries again on its own (backing off up to 5 s); a local write that commits wakes it.
  await kv.put('local', 3)
  await until(() => kv.log.changes === 22, 'the view to index what waited', { ms: 15_000 })
  assert.deepEqual(valuesOf(await kv.get('theirs-19')), [19], 'indexed once space is back')
  assert.deepEqual(valuesOf(await kv.get('local')), [3])
})

/**
 * Store A (on the usual temp dir) holds a big feed; store B, on a 512 MiB tmpfs filled to 88 MiB
 * free (24 MiB above the floor), has its own writer with one entry. Null when no tmpfs can be
 * mounted. `errors`: what B reports (its `'error'`); `free()` frees the disk again.
 */
async function shortOfRoom(t: TestContext) {
  const stores: { close(): Promise<void> }[] = []
  const disk = await smallDisk(t, 512, async () => {
    for (const store of stores) await store.close()
  })
  if (!disk) return null
  const root = await tempDir(t)
  const a = new Multifeed<Buffer>(join(root, 'a'), { valueEncoding: 'binary' })
  const b = new Multifeed<Buffer>(join(disk, 'b'), { valueEncoding: 'binary' })
  stores.push(b, a)
  const errors: Error[] = []
  b.on('error', (err) => errors.push(err))
  const theirs = await a.writer('a')
  const mine = await b.writer('b')
  await mine.append(Buffer.from('before'))
  await bigFeed(theirs)
  const free = await fill(disk, MIN_FREE_BYTES + 24 * MB)
  return { a, b, theirs, mine, disk, free, errors }
}

test('replicated downloads stop at the free-space floor: the sync fails with ERR_STORAGE (ENOSPC) before the disk is full, local appends go on without a reopen, and the next sync once space is back downloads the rest', async (t) => {
  const setup = await shortOfRoom(t)
  if (!setup) return t.skip('needs root to mount a tmpfs')
  const { a, b, theirs, mine, disk, free } = setup
  const err = await syncError(a, b)
  assert.ok(noSpace(err), `the sync fails naming the cause: ${String(err)}`)
  const copy = b.feed(theirs.key)
  assert.ok(copy, 'the feed is held')
  assert.ok(copy.length > 0 && copy.length < ENTRIES, `part of it arrived: ${copy.length} entries`)
  const stats = await statfs(disk)
  const left = stats.bavail * stats.bsize
  assert.ok(left > MIN_FREE_BYTES / 2, `the disk was never filled: ${left} bytes left`)

  await free()
  assert.equal(await mine.append(Buffer.from('after')), 1, 'local appends go on without a reopen')
  await syncFeeds(a, b)
  assert.equal(copy.length, ENTRIES, 'the next sync downloads the rest')
  assert.deepEqual(await copy.get(ENTRIES - 1), await theirs.get(ENTRIES - 1))
  assert.deepEqual(await copy.get(0), await theirs.get(0))
  assert.equal(await mine.append(Buffer.from('again')), 2)
  assert.equal((await mine.get(1)).toString(), 'after')
})

test('a live replication short of space stays open: the store reports ERR_STORAGE (ENOSPC) once, appends go on, and once space is back the same stream downloads the rest', async (t) => {
  const setup = await shortOfRoom(t)
  if (!setup) return t.skip('needs root to mount a tmpfs')
  const { a, b, theirs, mine, free, errors } = setup
  const sa = a.replicate(true, { live: true })
  const sb = b.replicate(false, { live: true })
  const streamErrors: Error[] = []
  sa.on('error', (err: Error) => streamErrors.push(err))
  sb.on('error', (err: Error) => streamErrors.push(err))
  sa.pipe(sb).pipe(sa)
  await until(() => errors.length > 0, 'the store to report the shortage', { ms: 60_000 })
  assert.ok(noSpace(errors[0]), `the store names the cause: ${String(errors[0])}`)
  const copy = b.feed(theirs.key)
  assert.ok(copy && copy.length < ENTRIES, 'the download stopped')
  assert.equal(await mine.append(Buffer.from('short')), 1, 'local appends go on')
  assert.ok(!sb.destroyed && !sa.destroyed, 'the stream stays open')

  await free()
  await until(
    () => copy.length === ENTRIES,
    () => `the rest on the same stream (${copy.length})`,
    {
      ms: 60_000,
    },
  )
  assert.deepEqual(await copy.get(ENTRIES - 1), await theirs.get(ENTRIES - 1))
  assert.equal(await mine.append(Buffer.from('after')), 2)
  assert.equal(errors.length, 1, 'reported once')
  assert.deepEqual(streamErrors, [])
  const closed = Promise.all([finished(sa).catch(() => undefined), finished(sb).catch(() => undefined)])
  sa.destroy()
  sb.destroy()
  await closed
})

test('minFreeBytes: a Multifeed floor above the free space refuses appends and downloads (ERR_STORAGE, ENOSPC); 0 keeps none; a bad value is refused', async (t) => {
  const root = await tempDir(t)
  for (const minFreeBytes of [-1, NaN, Infinity, '1' as unknown as number]) {
    assert.throws(
      () => new Multifeed(join(root, 'bad'), { minFreeBytes }),
      (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
      String(minFreeBytes),
    )
  }
  const stats = await statfs(root)
  const floor = stats.bavail * stats.bsize + 1024 * MB
  const a = new Multifeed<string>(join(root, 'a'), { valueEncoding: 'utf-8', minFreeBytes: 0 })
  const b = new Multifeed<string>(join(root, 'b'), { valueEncoding: 'utf-8', minFreeBytes: floor })
  t.after(() => Promise.all([a.close(), b.close()]))
  const theirs = await a.writer('a')
  await theirs.append(['one', 'two'])
  const mine = await b.writer('b')
  await assert.rejects(mine.append('x'), noSpace, 'the append names the cause')

  const err = await syncError(a, b)
  assert.ok(noSpace(err), `the sync fails naming the cause: ${String(err)}`)
  assert.match(String(err), new RegExp(`downloads need ${floor} bytes`))
  assert.equal(b.feed(theirs.key)?.length ?? 0, 0, 'nothing downloaded')
})
