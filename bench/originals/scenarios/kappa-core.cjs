'use strict'
// kappa-core 6.0.0 (multifeed 5, hypercore 8, multifeed-index) with the seed README's sum view
// (kappa-view 3 over memdb), default settings. Backends: `disk` = logs in a directory
// (random-access-file), `mem` = logs in random-access-memory.
//   node kappa-core.cjs <sum|replicate|million|scale> <disk|mem> <n>
const kappa = require('kappa-core')
const view = require('kappa-view')
const memdb = require('memdb')
const RAM = require('random-access-memory')
const level = require('level')
const { execFileSync } = require('child_process')
const fs = require('fs')
const net = require('net')
const path = require('path')
const { tmpdir, rm, now, args, p, peakRssMB, runMain } = require('./common.cjs')

const dirs = []
// Remove the temporary directories however the scenario ends (a failure exits early).
process.on('exit', () => { if (!args().scenario.endsWith('-reopen') && args().scenario !== 'scale-measure') for (const dir of dirs) rm(dir) })

function open (backend) {
  let storage
  if (backend === 'mem') {
    storage = (name) => new RAM()
  } else {
    storage = tmpdir('kappa')
    dirs.push(storage)
  }
  return kappa(storage, { valueEncoding: 'json' })
}

// The seed README's view, apart from layout and one fix: the README stores the sum in memdb's default
// utf-8 encoding, so it reads back '1' and concatenates; a json sublevel keeps it a number.
function sumview (store) {
  return view(store, { valueEncoding: 'json' }, function (db) {
    return {
      map: function (entries, next) {
        db.get('sum', function (err, value) {
          let sum
          if (err && err.notFound) sum = 0
          else if (err) return next(err)
          else sum = value
          entries.forEach(function (entry) {
            if (typeof entry.value === 'number') sum += entry.value
          })
          db.put('sum', sum, next)
        })
      },
      api: {
        get: function (core, cb) {
          this.ready(function () {
            db.get('sum', function (err, value) {
              if (err && err.notFound) cb(null, 0)
              else cb(err, value)
            })
          })
        }
      }
    }
  })
}

/** n entries (the number 1 each) in one writer, appended in arrays of 1000. */
async function fill (core, n) {
  const writer = await p((cb) => core.writer('default', cb))
  for (let i = 0; i < n; i += 1000) {
    const chunk = new Array(Math.min(1000, n - i)).fill(1)
    await p((cb) => writer.append(chunk, cb))
  }
  return writer
}

async function checkSum (core, n) {
  const sum = await p((cb) => core.api.sum.get(cb))
  if (sum !== n) throw new Error('sum is ' + String(sum).slice(0, 40) + ', expected ' + n)
}

/** The sum view over a level database in `dir` (kept across restarts), and the core whose logs are in `dir`. */
function openPersistent (dir) {
  const core = kappa(dir + '/logs', { valueEncoding: 'json' })
  const db = level(dir + '/views')
  core.use('sum', 1, sumview(db))
  return { core, db }
}

/** Counts every entry (kappa-view over level on disk), as kappadb's scale row does. */
function countview (db) {
  return view(db, { valueEncoding: 'json' }, function (db) {
    return {
      map: function (entries, next) {
        db.get('count', function (err, value) {
          if (err && !err.notFound) return next(err)
          db.put('count', (err ? 0 : value) + entries.length, next)
        })
      },
      api: {
        count: function (core, cb) {
          this.ready(function () {
            db.get('count', function (err, value) {
              if (err && err.notFound) cb(null, 0)
              else cb(err, value)
            })
          })
        }
      }
    }
  })
}

/** The core whose logs are in `dir`/logs with the count view in `dir`/views. */
function openCounted (dir) {
  fs.mkdirSync(dir, { recursive: true })
  const core = kappa(dir + '/logs', { valueEncoding: 'json' })
  const db = level(dir + '/views')
  core.use('count', 1, countview(db))
  return { core, db }
}

async function closeCounted ({ core, db }) {
  await p((cb) => core.pause(() => cb()))
  await p((cb) => core._logs.close(cb))
  await p((cb) => db.close(cb))
}

async function checkCount (core, n, what) {
  const count = await p((cb) => core.api.count.count(cb))
  if (count !== n) throw new Error(what + ': count is ' + count + ', expected ' + n + ' (' + core.feeds().length + ' feeds)')
}

function openFiles () {
  try {
    return fs.readdirSync('/proc/self/fd').length
  } catch (_) {
    return -1
  }
}

/**
 * One non-live sync of a and b over a unix socket at `where`: seconds (until both replication
 * streams ended), and bytes each way.
 */
async function syncOverSocket (a, b, where) {
  let serverSocket = null
  let serverEnded
  const served = new Promise((resolve, reject) => { serverEnded = { resolve, reject } })
  const server = net.createServer((socket) => {
    serverSocket = socket
    socket.on('error', () => {})
    const stream = a.replicate(true, { live: false })
    stream.on('error', serverEnded.reject)
    stream.on('end', serverEnded.resolve)
    socket.pipe(stream).pipe(socket)
  })
  await new Promise((resolve) => server.listen(where, resolve))
  const t0 = now()
  const client = net.connect(where)
  client.on('error', () => {})
  const stream = b.replicate(false, { live: false })
  const ended = new Promise((resolve, reject) => {
    stream.on('error', reject)
    stream.on('end', resolve)
  })
  client.pipe(stream).pipe(client)
  await Promise.all([ended, served])
  const seconds = now() - t0
  const bytes = { ab: serverSocket.bytesWritten, ba: client.bytesWritten }
  client.destroy()
  serverSocket.destroy()
  await new Promise((resolve) => server.close(() => resolve()))
  return Object.assign({ seconds }, bytes)
}

const SCALE_ENTRIES = 10

const scenarios = {
  // Entries already in the log; time from adding the view until it is ready.
  async sum (backend, n) {
    const core = open(backend)
    await fill(core, n)
    const t0 = now()
    core.use('sum', 1, sumview(memdb()))
    await p((cb) => core.ready('sum', () => cb()))
    const seconds = now() - t0
    await checkSum(core, n)
    return { count: n, seconds, unit: 'entries' }
  },

  // A holds the entries; B (empty, with the view) replicates them and indexes until ready.
  async replicate (backend, n) {
    const a = open(backend)
    await fill(a, n)
    const b = open(backend)
    b.use('sum', 1, sumview(memdb()))
    await p((cb) => b.ready(() => cb()))
    const t0 = now()
    const ra = a.replicate(true, { live: false })
    const rb = b.replicate(false, { live: false })
    await Promise.all([
      new Promise((resolve, reject) => ra.once('end', resolve).on('error', reject)),
      new Promise((resolve, reject) => rb.once('end', resolve).on('error', reject)),
      Promise.resolve(ra.pipe(rb).pipe(ra))
    ])
    await p((cb) => b.ready('sum', () => cb()))
    const seconds = now() - t0
    await checkSum(b, n)
    return { count: n, seconds, unit: 'entries' }
  },

  // n entries appended (arrays of 1000) while the sum view (on disk) indexes them, then a fresh
  // process reopens the directory until the view is ready again.
  async million (backend, n) {
    const dir = tmpdir('kappa-million')
    dirs.push(dir)
    const t0 = now()
    const { core, db } = openPersistent(dir)
    await fill(core, n)
    await p((cb) => core.ready('sum', () => cb()))
    const seconds = now() - t0
    await checkSum(core, n)
    const writeRssMB = peakRssMB()
    await p((cb) => core.pause(() => cb()))
    await p((cb) => core._logs.close(cb))
    await p((cb) => db.close(cb))
    const out = execFileSync(process.execPath, [__filename, 'million-reopen', backend, String(n), dir], { encoding: 'utf8' })
    const reopen = JSON.parse(out.split('\n').find((l) => l.startsWith('RESULT ')).slice(7))
    return { count: n, seconds, unit: 'entries', writeRssMB, reopenSeconds: reopen.seconds, reopenRssMB: reopen.peakRssMB }
  },

  // n local writers × 10 entries with the count view; then a fresh process measures reopen, the
  // first sync to an empty peer, and two reconnects (as bench/scenarios/scale.ts does for kappadb).
  async scale (backend, n) {
    const dir = tmpdir('kappa-scale')
    dirs.push(dir)
    const built = openCounted(path.join(dir, 'a'))
    const t0 = now()
    for (let i = 0; i < n; i++) {
      const writer = await p((cb) => built.core.writer('w' + i, cb))
      await p((cb) => writer.append(Array.from({ length: SCALE_ENTRIES }, (_, k) => k), cb))
    }
    await p((cb) => built.core.ready('count', () => cb()))
    const buildSeconds = now() - t0
    await checkCount(built.core, n * SCALE_ENTRIES, 'built')
    await closeCounted(built)
    const out = execFileSync(process.execPath, [__filename, 'scale-measure', backend, String(n), dir], {
      encoding: 'utf8',
      maxBuffer: 1 << 24
    })
    const measured = JSON.parse(out.split('\n').find((l) => l.startsWith('RESULT ')).slice(7))
    delete measured.peakRssMB
    return Object.assign(measured, { buildSeconds })
  },

  async 'scale-measure' (backend, n) {
    const dir = process.argv[5]
    const total = n * SCALE_ENTRIES
    const where = (label) => path.join(dir, label + '.sock')
    const reopen = (name) => {
      const store = openCounted(path.join(dir, name))
      return p((cb) => store.core.ready('count', () => cb())).then(() => store)
    }
    const rssBefore = process.memoryUsage().rss
    const t0 = now()
    let a = await reopen('a')
    const reopenSeconds = now() - t0
    const reopenRssKBPerFeed = (process.memoryUsage().rss - rssBefore) / 1024 / n
    const reopenOpenFiles = openFiles()
    await checkCount(a.core, total, 'reopened')

    let b = await reopen('b')
    const t1 = now()
    await syncOverSocket(a.core, b.core, where('first'))
    await p((cb) => b.core.ready('count', () => cb()))
    const firstSyncSeconds = now() - t1
    await checkCount(b.core, total, 'first sync')

    await Promise.all([closeCounted(a), closeCounted(b)])
    a = await reopen('a')
    b = await reopen('b')
    const same = await syncOverSocket(a.core, b.core, where('same'))

    await Promise.all([closeCounted(a), closeCounted(b)])
    a = await reopen('a')
    b = await reopen('b')
    const w0 = await p((cb) => a.core.writer('w0', cb))
    await p((cb) => w0.append(1, cb))
    const t2 = now()
    const one = await syncOverSocket(a.core, b.core, where('one'))
    await p((cb) => b.core.ready('count', () => cb()))
    const oneSeconds = now() - t2
    await checkCount(b.core, total + 1, 'one new entry')
    await Promise.all([closeCounted(a), closeCounted(b)])
    rm(dir)
    return {
      seconds: reopenSeconds,
      reopenSeconds,
      reopenRssKBPerFeed,
      reopenOpenFiles,
      firstSyncSeconds,
      sameMs: same.seconds * 1000,
      sameBytesAB: same.ab,
      sameBytesBA: same.ba,
      oneMs: oneSeconds * 1000,
      oneBytesAB: one.ab,
      oneBytesBA: one.ba
    }
  },

  async 'million-reopen' (backend, n) {
    const dir = process.argv[5]
    const t0 = now()
    const { core } = openPersistent(dir)
    await p((cb) => core.ready('sum', () => cb()))
    const seconds = now() - t0
    await checkSum(core, n)
    return { seconds }
  }
}

runMain(scenarios)
