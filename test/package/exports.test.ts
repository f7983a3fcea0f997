/**
 * Every name `kappadb` and `kappadb/cli` export is listed in the README's reference section, and
 * every name listed there is exported: a new export without documentation fails here.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = fileURLToPath(new URL('../..', import.meta.url))
const ENTRIES = ['src/index.ts', 'src/cli/index.ts']

function exportedNames(): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)),
    },
  )!
  const files = ENTRIES.map((entry) => join(root, entry))
  const program = ts.createProgram(files, { ...config.options, noEmit: true })
  const checker = program.getTypeChecker()
  const names = new Set<string>()
  for (const file of files) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!
    for (const symbol of checker.getExportsOfModule(module)) names.add(symbol.name)
  }
  return [...names].sort()
}

/** The names in the first column of names of the README's "Reference: every export" table. */
async function listedNames(): Promise<string[]> {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const start = readme.indexOf('\n## Reference: every export')
  assert.ok(start >= 0, 'the README has a reference section')
  const end = readme.indexOf('\n## ', start + 1)
  const names = new Set<string>()
  for (const line of readme.slice(start, end === -1 ? undefined : end).split('\n')) {
    const cells = line.split('|')
    if (cells.length < 5 || !cells[2]!.includes('`')) continue
    for (const match of cells[2]!.matchAll(/`([^`]+)`/g)) names.add(match[1]!)
  }
  return [...names].sort()
}

test("every export is in the README's reference, and the reference lists only exports", async () => {
  const exported = exportedNames()
  const listed = await listedNames()
  assert.ok(exported.length > 100, `exports found (${exported.length})`)
  assert.deepEqual(
    exported.filter((name) => !listed.includes(name)),
    [],
    'exported but not in the README reference',
  )
  assert.deepEqual(
    listed.filter((name) => !exported.includes(name)),
    [],
    'in the README reference but not exported',
  )
})
