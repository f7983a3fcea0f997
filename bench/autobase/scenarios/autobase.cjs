'use strict'
// Autobase 7.28.1 + Hyperbee 2.27.3 on Hypercore 11.37.1 (kappadb's), run exactly as
// bench/scenarios/hyperkv.ts runs kappadb's HyperKV and bench/originals/scenarios/hyperkv.cjs runs
// hyperkv 2.1:
//   node autobase.cjs <put-seq|put-concurrent|batch|batch-cold|get|get-warm|read-stream|replicate|live-latency> disk <n>
//
// Set up as Autobase's README and tests do: a Corestore on disk (default options), `open` returns a
// Hyperbee over the view core (no extension, utf-8 keys, JSON values), `apply` writes the nodes it
// is given — whole appended batches, never split — in ONE Hyperbee batch. A put is
// `base.append({ type: 'put', key, value })`: with a single writer (an indexer) `append` resolves
// after the node was linearized and applied, so the key is readable in `base.view` then (checked
// after each warm-up put); a batch of rows is one `base.append([...])`.
const net = require('net')
const Autobase = require('autobase')
const Corestore = require('corestore')
const Hyperbee = require('hyperbee')
const b4a = require('b4a')
const { tmpdir, rm, now, runMain } = require('../../originals/scenarios/common.cjs')

const dirs = []
// Remove the temporary directories however the scenario ends (a failure exits early).
process.on('exit', () => {
  for (const dir of dirs) rm(dir)
})

const WARMUP = 100
// As on the other sides: the batch row warms up with twenty batches of 1,000 rows; batch-cold doesn't.
const BATCH_WARMUP = 20000

const value = (i) => ({ n: i, text: 'value number ' + i })
const key = (i) => 'key-' + String(i).padStart(8, '0')
const putOp = (i) => ({ type: 'put', key: key(i), value: value(i) })

function openView(store) {
  return new Hyperbee(store.get('view'), {
    extension: false,
    keyEncoding: 'utf-8',
    valueEncoding: 'json',
  })
}

async function apply(nodes, view, host) {
  const batch = view.batch({ update: false })
  for (const { value } of nodes) {
    if (value === null) continue // an ack
    if (value.addWriter) {
      await host.addWriter(b4a.from(value.addWriter, 'hex'), { indexer: value.indexer })
    } else if (value.type === 'put') {
      await batch.put(value.key, value.value)
    } else if (value.type === 'del') {
      await batch.del(value.key)
    }
  }
  await batch.flush()
}

/** A base in `dir` (a new temporary one by default); `bootstrap` is the key of an existing base. */
async function open(dir, bootstrap = null) {
  if (!dir) {
    dir = tmpdir('autobase')
    dirs.push(dir)
  }
  const store = new Corestore(dir)
  const base = new Autobase(store, bootstrap, { open: openView, apply, valueEncoding: 'json' })
  await base.ready()
  return { base, store, dir }
}

async function close({ base, store }) {
  await base.close()
  await store.close()
}

async function checkGet(base, i) {
  const node = await base.view.get(key(i))
  if (!node || !node.value || node.value.n !== i)
    throw new Error('wrong value for ' + key(i) + ': ' + JSON.stringify(node))
}

/** Puts that are readable once `append` resolves: each is checked at once. */
async function warmUp(base) {
  for (let i = 0; i < WARMUP; i++) {
    await base.append(putOp(1e7 + i))
    await checkGet(base, 1e7 + i)
  }
}

async function fill(base, n, from = 0, rowsPerBatch = 1000) {
  for (let i = from; i < from + n; i += rowsPerBatch) {
    const rows = []
    for (let j = i; j < Math.min(from + n, i + rowsPerBatch); j++) rows.push(putOp(j))
    await base.append(rows)
  }
}

/**
 * A base holding n keys (plus WARMUP others), then closed and reopened from its directory so reads
 * start with cold caches, as in a new process.
 */
async function filledAndReopened(n, reopen = true) {
  const first = await open()
  await fill(first.base, n)
  await fill(first.base, WARMUP, 1e7)
  await checkGet(first.base, n - 1)
  if (!reopen) return first
  const bootstrap = first.base.key
  await close(first)
  const again = await open(first.dir, bootstrap)
  await checkGet(again.base, n - 1)
  return again
}

async function gets(opened, n) {
  const { base } = opened
  for (let i = 0; i < WARMUP; i++) await checkGet(base, 1e7 + i)
  const t0 = now()
  for (let i = 0; i < n; i++) await checkGet(base, i)
  const seconds = now() - t0
  await close(opened)
  return { count: n, seconds, unit: 'gets' }
}

/** n rows in batches of 1,000 after `warmup` rows of the same kind. */
async function batches(n, warmup) {
  const opened = await open()
  if (warmup > 0) await fill(opened.base, warmup, 1e7)
  const t0 = now()
  await fill(opened.base, n)
  const seconds = now() - t0
  await checkGet(opened.base, n - 1)
  await close(opened)
  return { count: n, seconds, unit: 'rows' }
}

/** Resolves once `check()` is true, checking now and after each of `emitter`'s `event`s. */
async function until(emitter, event, check) {
  for (;;) {
    let wake = null
    const next = new Promise((resolve) => (wake = resolve))
    emitter.on(event, wake)
    try {
      if (await check()) return
      await next
    } finally {
      emitter.off(event, wake)
    }
  }
}

/** Two replication streams of `a` and `b` joined over TCP on 127.0.0.1. */
async function tcpPair(a, b) {
  const sockets = []
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    sockets.push(socket)
    const stream = a.replicate(false)
    stream.pipe(socket).pipe(stream)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const socket = net.connect(server.address().port, '127.0.0.1')
  socket.setNoDelay(true)
  sockets.push(socket)
  const stream = b.replicate(true)
  stream.pipe(socket).pipe(stream)
  return () => {
    for (const s of sockets) s.destroy()
    server.close()
  }
}

/** The nearest-rank percentile of ascending `sorted`. */
function percentile(sorted, p) {
  return sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)]
}

const scenarios = {
  async 'put-seq'(_backend, n) {
    const opened = await open()
    const { base } = opened
    await warmUp(base)
    const t0 = now()
    for (let i = 0; i < n; i++) await base.append(putOp(i))
    const seconds = now() - t0
    await checkGet(base, n - 1)
    await close(opened)
    return { count: n, seconds, unit: 'puts' }
  },

  async 'put-concurrent'(_backend, n) {
    const opened = await open()
    const { base } = opened
    await warmUp(base)
    const t0 = now()
    const all = []
    for (let i = 0; i < n; i++) all.push(base.append(putOp(i)))
    await Promise.all(all)
    const seconds = now() - t0
    await checkGet(base, n - 1)
    await close(opened)
    return { count: n, seconds, unit: 'puts' }
  },

  batch(_backend, n) {
    return batches(n, BATCH_WARMUP)
  },

  // A fresh process, no warm-up: the first n rows in batches of 1,000.
  'batch-cold'(_backend, n) {
    return batches(n, 0)
  },

  async get(_backend, n) {
    return gets(await filledAndReopened(n), n)
  },

  // The same reads in the process that wrote the keys, without reopening.
  async 'get-warm'(_backend, n) {
    return gets(await filledAndReopened(n, false), n)
  },

  async 'read-stream'(_backend, n) {
    const opened = await filledAndReopened(n)
    await checkGet(opened.base, 1e7)
    let rows = 0
    const t0 = now()
    for await (const node of opened.base.view.createReadStream()) {
      if (!node.value || typeof node.value.n !== 'number') throw new Error('row without value')
      rows++
    }
    const seconds = now() - t0
    if (rows !== n + WARMUP) throw new Error('read ' + rows + ' rows, expected ' + (n + WARMUP))
    await close(opened)
    return { count: n + WARMUP, seconds, unit: 'rows' }
  },

  // A holds n keys (put in batches of 1,000); B is a new, empty peer of A's base. Timed: replication
  // (in one process, as on the other sides) until B's view returns the last key. B fast-forwards
  // to A's signed state and its Hyperbee then fetches only the blocks on the last key's path, so
  // the figure is "until the last key is readable"; `wholeSeconds` goes on until every block of
  // B's view is local (what kappadb and hyperkv 2.1 hold when their get works).
  async replicate(_backend, n) {
    const a = await open()
    await fill(a.base, n)
    const b = await open(undefined, a.base.key)
    let fastForwarded = false
    b.base.once('fast-forward', () => {
      fastForwarded = true
    })
    const t0 = now()
    const left = a.base.replicate(true)
    const right = b.base.replicate(false)
    left.pipe(right).pipe(left)
    await until(b.base, 'update', async () => {
      const node = await b.base.view.get(key(n - 1))
      return node !== null && node.value.n === n - 1
    })
    const seconds = now() - t0
    const view = b.base.view.core
    const fetchedBlocks = view.contiguousLength
    const viewBlocks = view.length
    await view.download({ start: 0, end: view.length }).done()
    const wholeSeconds = now() - t0
    await checkGet(b.base, 0)
    left.destroy()
    right.destroy()
    await Promise.all([close(a), close(b)])
    return {
      count: n,
      seconds,
      unit: 'nodes',
      wholeSeconds,
      wholeRate: n / wholeSeconds,
      fastForwarded,
      viewBlocks,
      contiguousBlocksWhenReadable: fetchedBlocks,
    }
  },

  // A and B are two writers of one base (B added by A as Autobase's `addWriter` does by default: an
  // indexer), replicating live over TCP on 127.0.0.1 in this process. n puts on A, one at a time,
  // each timed from the put until B's view returns it.
  async 'live-latency'(_backend, n) {
    const a = await open()
    const b = await open(undefined, a.base.key)
    const disconnect = await tcpPair(a.base, b.base)
    await a.base.append({ addWriter: b4a.toString(b.base.local.key, 'hex'), indexer: true })
    await until(b.base, 'writable', () => b.base.writable)
    const latencies = []
    const readable = (i) => async () => {
      const node = await b.base.view.get(key(i))
      return node !== null && node.value.n === i
    }
    for (let i = 0; i < WARMUP; i++) {
      await a.base.append(putOp(1e7 + i))
      await until(b.base, 'update', readable(1e7 + i))
    }
    const t0 = now()
    for (let i = 0; i < n; i++) {
      const start = now()
      await a.base.append(putOp(i))
      await until(b.base, 'update', readable(i))
      latencies.push((now() - start) * 1000)
    }
    const seconds = now() - t0
    disconnect()
    await Promise.all([close(a), close(b)])
    latencies.sort((x, y) => x - y)
    return {
      count: n,
      seconds,
      unit: 'puts',
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies[latencies.length - 1],
    }
  },
}

runMain(scenarios)
