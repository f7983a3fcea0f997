import test from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  encodePutDoc,
  encodeDelDoc,
  parseDoc,
  encodeRegister,
  decodeRegister,
  type RegisterEntry,
} from '../../src/kv/messages.js'
import { applyToRegister } from '../../src/kv/register.js'
import { MvModel, type ModelNode } from '../helpers/mv-model.js'
import { randomGenerator } from '../helpers/kv-random.js'

/** hyperlog's framed sha256, written out here to check the documents' bytes. */
function framedSha256(links: string[], value: string): string {
  const h = createHash('sha256')
  for (const part of [...links, value]) {
    const bytes = Buffer.from(part)
    h.update(`${bytes.length}\n`)
    h.update(bytes)
  }
  return h.digest('hex')
}

test('documents are hyperkv 2.1 byte for byte (README hash vectors)', () => {
  const first = framedSha256([], JSON.stringify(encodePutDoc('greeting', 'hello')))
  assert.equal(first, '1f1b819cd3f7d379914037b473a855b7867f71c76126e379c91cbb31df2a859b')
  const second = framedSha256([first], JSON.stringify(encodePutDoc('greeting', 'beep boop')))
  assert.equal(second, 'eadb22a224313d5fb5b811e50915f16491e7714dd32b83503c1e1a1db2bd9e9b')
})

test('fields come first and k/v/d win a collision', () => {
  assert.equal(JSON.stringify(encodePutDoc('A', 555, { x: 5, k: 'no' })), '{"x":5,"k":"A","v":555}')
  assert.equal(JSON.stringify(encodeDelDoc('A', { x: 555, d: 'no' })), '{"x":555,"d":"A"}')
})

test('parseDoc reads documents as hyperkv did', () => {
  assert.deepEqual(parseDoc({ k: 'A', v: 1 }), { type: 'put', key: 'A', value: 1, doc: { k: 'A', v: 1 } })
  assert.equal(parseDoc({ k: 'A', d: 'B' })?.type, 'put', 'k is checked first')
  assert.deepEqual(parseDoc({ d: 'A', x: 1 }), { type: 'del', key: 'A', doc: { d: 'A', x: 1 } })
  for (const other of [null, 0, '', 'text', [], { x: 1 }, { k: 5 }, { d: {} }]) {
    assert.equal(parseDoc(other), null, JSON.stringify(other))
  }
})

test('register records round-trip and reject foreign bytes', () => {
  const entries: RegisterEntry[] = [
    { key: 'a'.repeat(64), type: 'put' },
    { key: 'b'.repeat(64), type: 'del' },
  ]
  assert.deepEqual(decodeRegister(encodeRegister(entries)), entries)
  assert.deepEqual(decodeRegister(encodeRegister([])), [])
  assert.throws(() => decodeRegister(Buffer.from('7')), { code: 'ERR_STORAGE' })
  assert.throws(() => decodeRegister(Buffer.from([1, 1, 9, 1, 0x61])), { code: 'ERR_STORAGE' })
  // Only the current version is read (`[1, [put, 'a']]` is a version-1 record, without documents).
  assert.throws(() => decodeRegister(Buffer.from([1, 1, 0, 1, 0x61])), { code: 'ERR_STORAGE' })
})

test('applyToRegister: links drop heads, the node joins them, heads sorted by hash', () => {
  let reg: readonly RegisterEntry[] = []
  reg = applyToRegister(reg, { key: 'A', links: [] }, 'put')
  reg = applyToRegister(reg, { key: 'B', links: ['A'] }, 'put')
  assert.deepEqual(reg, [{ key: 'B', type: 'put' }])
  reg = applyToRegister(reg, { key: 'D', links: ['B'] }, 'put')
  reg = applyToRegister(reg, { key: 'E', links: ['B', 'elsewhere'] }, 'del')
  assert.deepEqual(reg, [
    { key: 'D', type: 'put' },
    { key: 'E', type: 'del' },
  ])
  const same = applyToRegister(reg, { key: 'E', links: ['unknown'] }, 'del')
  assert.equal(same, reg, 'an unchanged register is returned as is')
  const retyped = applyToRegister(reg, { key: 'D', links: [] }, 'del')
  assert.deepEqual(retyped, [
    { key: 'D', type: 'del' },
    { key: 'E', type: 'del' },
  ])
  const sorted = applyToRegister(retyped, { key: 'C', links: ['E'] }, 'put')
  assert.deepEqual(sorted, [
    { key: 'C', type: 'put' },
    { key: 'D', type: 'del' },
  ])
})

/**
 * Applying nodes in any topological order gives the model's heads: the property the hyperlog's
 * change order gives the register on every replica.
 */
test('applyToRegister in any topological order equals the reference model', () => {
  const rand = randomGenerator(42)
  for (let round = 0; round < 200; round++) {
    const nodes: ModelNode[] = []
    const model = new MvModel()
    for (let i = 0; i < 40; i++) {
      const links = nodes.filter(() => rand() < 0.1).map((n) => n.hash)
      const node: ModelNode = {
        hash: `n${i}`,
        key: 'kx'[Math.floor(rand() * 2)]!,
        type: rand() < 0.2 ? 'del' : 'put',
        value: i,
        links,
      }
      nodes.push(node)
      model.add(node)
    }
    const order = randomTopologicalOrder(nodes, rand)
    const registers = new Map<string, readonly RegisterEntry[]>()
    for (const node of order) {
      registers.set(
        node.key,
        applyToRegister(registers.get(node.key) ?? [], { key: node.hash, links: node.links }, node.type),
      )
    }
    for (const key of model.keys()) {
      const heads = (registers.get(key) ?? []).map((e) => e.key)
      assert.deepEqual(heads, model.heads(key), `round ${round} key ${key}: same heads, same order`)
    }
  }
})

function randomTopologicalOrder(nodes: ModelNode[], rand: () => number): ModelNode[] {
  const placed = new Set<string>()
  const out: ModelNode[] = []
  const waiting = [...nodes]
  while (waiting.length > 0) {
    const ready = waiting.filter((n) => n.links.every((l) => placed.has(l)))
    const pick = ready[Math.floor(rand() * ready.length)]!
    waiting.splice(waiting.indexOf(pick), 1)
    placed.add(pick.hash)
    out.push(pick)
  }
  return out
}
