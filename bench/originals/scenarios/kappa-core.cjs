'use strict'
// kappa-core 6.0.0 (multifeed 5, hypercore 8, multifeed-index) with the seed README's sum view
// (kappa-view 3 over memdb), default settings. Backends: `disk` = logs in a directory
// (random-access-file), `mem` = logs in random-access-memory.
//   node kappa-core.cjs <sum|replicate> <disk|mem> <n>
const kappa = require('kappa-core')
const view = require('kappa-view')
const memdb = require('memdb')
const RAM = require('random-access-memory')
const level = require('level')
const { execFileSync } = require('child_process')
const { tmpdir, rm, now, args, p, peakRssMB, runMain } = require('./common.cjs')

const dirs = []
// Remove the temporary directories however the scenario ends (a failure exits early).
process.on('exit', () => { if (args().scenario !== 'million-reopen') for (const dir of dirs) rm(dir) })

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
