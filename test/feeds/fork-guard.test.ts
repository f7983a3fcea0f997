/**
 * The fork guard on cores (src/feeds/replication/trees.ts): set on every core a store opens, it
 * answers Hypercore's fork check with a session of ours, and leaves a core none of ours holds
 * (another user of a given Corestore) to Hypercore's own check.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import type { Proof } from 'hypercore'
import { conflictChecking } from '../../src/feeds/dependency-internals.js'
import { guardCore, guardForks } from '../../src/feeds/replication/trees.js'
import { tempDir } from '../helpers/temp.js'

/** A tree proof of `length` blocks, which no core of one block can hold. */
const beyond = (length: number): Proof => ({
  fork: 0,
  block: null,
  hash: null,
  seek: null,
  upgrade: { start: 0, length, nodes: [], additionalNodes: [], signature: Buffer.alloc(64) },
  manifest: null,
})

test("a guarded core none of ours holds gets Hypercore's own answer; one we hold, ours", async (t) => {
  const store = new Corestore(await tempDir(t, 'kappadb-guard-'))
  t.after(() => store.close())
  const opened: unknown[] = []
  store.watch((internal) => opened.push(internal))
  const core: Hypercore = store.get({ name: 'foreign' })
  await core.ready()
  await core.append(Buffer.from('x'))
  const internal = conflictChecking(core)!
  assert.equal(opened[0], internal)
  let asked = 0
  guardCore(internal, async () => {
    asked++
    return null // not one of ours
  })
  // Hypercore's check: a proof beyond what the core holds says nothing ("no conflict": false).
  assert.equal(await internal.checkConflict(beyond(5), null), false)
  assert.equal(asked, 1, 'the opener was asked for a session first')
  // With a session of ours, the guard answers (a proof beyond our length: no conflict either, and
  // the session's handler hears that it was checked).
  let checked = 0
  guardCore(internal, async () => ({ core, release: () => undefined }))
  guardForks(core, { fork: () => assert.fail('no fork'), checked: () => checked++ })
  assert.equal(await internal.checkConflict(beyond(5), null), false)
  assert.equal(checked, 1)
})
