'use strict'
// hyperkv 2.1.1 + hyperlog 4.12.1, as the seed README sets them up: one level database split with
// subleveldown into the log and the index. Backends: `disk` = levelup@1 over leveldown (level@5,
// hyperkv's declared dependency, never ends hyperkv's read streams), `mem` = memdb.
//   node hyperkv.cjs <put-seq|put-concurrent|batch|batch-cold|get|get-warm|read-stream|replicate> <disk|mem> <n>
const hyperkv = require('hyperkv')
const hyperlog = require('hyperlog')
const sub = require('subleveldown')
const levelup = require('levelup')
const leveldown = require('leveldown')
const memdb = require('memdb')
const { tmpdir, rm, now, args, p, runMain } = require('./common.cjs')

const dirs = []
// Remove the temporary directories however the scenario ends (a failure exits early).
process.on('exit', () => { if (args().scenario !== 'million-reopen') for (const dir of dirs) rm(dir) })

async function open (backend, dir) {
  let db
  if (backend === 'mem') {
    db = memdb()
  } else {
    if (!dir) {
      dir = tmpdir('hyperkv')
      dirs.push(dir)
    }
    db = await p((cb) => levelup(dir, { db: leveldown }, cb))
  }
  const kv = hyperkv({ log: hyperlog(sub(db, 'log'), { valueEncoding: 'json' }), db: sub(db, 'kv') })
  return { kv, db, dir }
}

/**
 * A store holding n keys (plus WARMUP others), indexed, then closed and reopened so reads start
 * with cold caches, as in a new process. memdb cannot be reopened: it stays open.
 */
async function filledAndReopened (backend, n, reopen = true) {
  const first = await open(backend)
  await fill(first.kv, n)
  await fill(first.kv, WARMUP, 1e7)
  await checkGet(first.kv, n - 1)
  if (backend === 'mem' || !reopen) return first.kv
  await p((cb) => first.db.close(cb))
  return (await open(backend, first.dir)).kv
}

const value = (i) => ({ n: i, text: 'value number ' + i })
const key = (i) => 'key-' + String(i).padStart(8, '0')

function put (kv, i) {
  return p((cb) => kv.put(key(i), value(i), cb))
}

async function fill (kv, n, from = 0, rowsPerBatch = 1000) {
  for (let i = from; i < from + n; i += rowsPerBatch) {
    const rows = []
    for (let j = i; j < Math.min(from + n, i + rowsPerBatch); j++) rows.push({ type: 'put', key: key(j), value: value(j) })
    await p((cb) => kv.batch(rows, cb))
  }
}

async function checkGet (kv, i) {
  const values = await p((cb) => kv.get(key(i), cb))
  const got = Object.values(values)
  if (got.length !== 1 || got[0].value.n !== i) throw new Error('wrong value for ' + key(i) + ': ' + JSON.stringify(values))
}

const WARMUP = 100
// The batch row warms up with the operation it measures, twenty batches of 1,000 rows, so it
// reports the steady rate (kappadb's first batches run slower while V8 optimizes its code and
// grows its young generation; hyperkv is the same cold or warm).
const BATCH_WARMUP = 20000

// n rows in batches of 1,000 after `warmup` rows of the same kind.
async function batches (backend, n, warmup) {
  const { kv } = await open(backend)
  if (warmup > 0) await fill(kv, warmup, 1e7)
  const t0 = now()
  await fill(kv, n)
  const seconds = now() - t0
  await checkGet(kv, n - 1)
  return { count: n, seconds, unit: 'rows' }
}

async function gets (kv, n) {
  for (let i = 0; i < WARMUP; i++) await checkGet(kv, 1e7 + i)
  const t0 = now()
  for (let i = 0; i < n; i++) await checkGet(kv, i)
  const seconds = now() - t0
  return { count: n, seconds, unit: 'gets' }
}

const scenarios = {
  async 'put-seq' (backend, n) {
    const { kv } = await open(backend)
    for (let i = 0; i < WARMUP; i++) await put(kv, 1e7 + i)
    const t0 = now()
    for (let i = 0; i < n; i++) await put(kv, i)
    const seconds = now() - t0
    await checkGet(kv, n - 1)
    return { count: n, seconds, unit: 'puts' }
  },

  async 'put-concurrent' (backend, n) {
    const { kv } = await open(backend)
    for (let i = 0; i < WARMUP; i++) await put(kv, 1e7 + i)
    const t0 = now()
    const all = []
    for (let i = 0; i < n; i++) all.push(put(kv, i))
    await Promise.all(all)
    const seconds = now() - t0
    await checkGet(kv, n - 1)
    return { count: n, seconds, unit: 'puts' }
  },

  batch (backend, n) {
    return batches(backend, n, BATCH_WARMUP)
  },

  // A fresh process, no warm-up: the first n rows in batches of 1,000.
  'batch-cold' (backend, n) {
    return batches(backend, n, 0)
  },

  async get (backend, n) {
    return gets(await filledAndReopened(backend, n), n)
  },

  // The same reads in the process that wrote the keys, without reopening.
  async 'get-warm' (backend, n) {
    return gets(await filledAndReopened(backend, n, false), n)
  },

  async 'read-stream' (backend, n) {
    const kv = await filledAndReopened(backend, n)
    await checkGet(kv, 1e7)
    const t0 = now()
    let rows = 0
    await new Promise((resolve, reject) => {
      kv.createReadStream()
        .on('data', (row) => {
          if (!row.values || Object.keys(row.values).length !== 1) reject(new Error('row without value'))
          rows++
        })
        .on('end', resolve)
        .on('error', reject)
    })
    const seconds = now() - t0
    if (rows !== n + WARMUP) throw new Error('read ' + rows + ' rows, expected ' + (n + WARMUP))
    return { count: n + WARMUP, seconds, unit: 'rows' }
  },

  // A holds n nodes (the documents hyperkv writes for n new keys, added straight to A's hyperlog to
  // save setup time); B is empty. Timed: replication until B's get returns the last key.
  async replicate (backend, n) {
    const a = await open(backend)
    const b = await open(backend)
    for (let i = 0; i < n; i += 1000) {
      const docs = []
      for (let j = i; j < Math.min(n, i + 1000); j++) docs.push({ links: [], value: { k: key(j), v: value(j) } })
      await p((cb) => a.kv.log.batch(docs, cb))
    }
    const t0 = now()
    const ra = a.kv.log.replicate()
    const rb = b.kv.log.replicate()
    await Promise.all([
      new Promise((resolve, reject) => ra.on('end', resolve).on('error', reject)),
      new Promise((resolve, reject) => rb.on('end', resolve).on('error', reject)),
      Promise.resolve(ra.pipe(rb).pipe(ra))
    ])
    await checkGet(b.kv, n - 1)
    const seconds = now() - t0
    return { count: n, seconds, unit: 'nodes', wholeSeconds: seconds, wholeRate: n / seconds }
  }
}

runMain(scenarios)
