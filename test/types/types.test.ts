/**
 * The app developer's types: the fixture programs in test/types/fixtures (importing `kappadb` as an
 * app does) compile under `strict`, and every line marked `// @ts-expect-error` really fails to
 * compile — checked twice: tsc reports an unused `@ts-expect-error` itself, and a copy of the
 * fixtures without the markers must fail on exactly those lines and nowhere else.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ROOT as root, compile, strictTsconfig as tsconfig, type Diagnostic } from '../helpers/tsc.js'

const fixtures = join(root, 'test/types/fixtures')
const MARKER = /^\s*\/\/ @ts-expect-error\b/

test('the fixture programs compile under strict, and each @ts-expect-error line fails without its marker', async (t) => {
  const names = (await readdir(fixtures)).filter((name) => name.endsWith('.ts')).sort()
  assert.ok(names.length >= 4, 'fixtures found')
  const dir = await mkdtemp(join(tmpdir(), 'kappadb-types-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  // Module resolution from the copies finds this repository's packages.
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))

  const asIs = join(dir, 'as-is')
  const stripped = join(dir, 'stripped')
  const expected = new Set<string>()
  await mkdir(asIs)
  await mkdir(stripped)
  for (const name of names) {
    const source = await readFile(join(fixtures, name), 'utf8')
    await writeFile(join(asIs, name), source)
    const lines = source.split('\n')
    lines.forEach((line, i) => {
      if (!MARKER.test(line)) return
      // The marker line stays (as a plain comment) so line numbers do not move.
      lines[i] = line.replace('@ts-expect-error', 'expected error:')
      expected.add(`${name}:${i + 2}`)
    })
    await writeFile(join(stripped, name), lines.join('\n'))
  }
  assert.ok(expected.size >= 15, `expected-error lines found (${expected.size})`)
  await writeFile(join(asIs, 'tsconfig.json'), tsconfig(names.map((n) => join(asIs, n))))
  await writeFile(join(stripped, 'tsconfig.json'), tsconfig(names.map((n) => join(stripped, n))))

  const [clean, failing] = await Promise.all([
    compile(join(asIs, 'tsconfig.json')),
    compile(join(stripped, 'tsconfig.json')),
  ])
  assert.deepEqual(
    clean.map((d) => `${d.file}(${d.line}): ${d.message}`),
    [],
    'the fixtures compile as they are',
  )
  const inFixtures = (d: Diagnostic) => d.file.startsWith(stripped)
  const where = (d: Diagnostic) => `${d.file.slice(stripped.length + 1)}:${d.line}`
  const outside = failing.filter((d) => !inFixtures(d) || !expected.has(where(d)))
  assert.deepEqual(
    outside.map((d) => `${d.file}(${d.line}): ${d.message}`),
    [],
    'errors only on the expected lines',
  )
  const failed = new Set(failing.map(where))
  assert.deepEqual(
    [...expected].filter((line) => !failed.has(line)),
    [],
    'every expected-error line fails',
  )
})
