/**
 * The docs cannot rot: every ```ts block of README.md and every examples/*.ts compiles under
 * `strict` against the package's public types (`kappadb` is this repository's `src/index.ts`, as
 * test/types does it), and the runnable ones run to exit code 0 — README blocks opened with
 * ```ts runnable, examples with a `// Runnable as it is:` line. Each runs in a fresh directory of
 * its own (relative paths in it land there), as a child process with a deadline.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ROOT, compile, strictTsconfig } from '../helpers/tsc.js'

/** How long one runnable snippet or example may take. */
const RUN_DEADLINE = 90_000
const RUNNABLE_EXAMPLE = /^\/\/ Runnable as it is: /m

interface Snippet {
  /** Where it comes from, for messages: `README.md:<line>` or `examples/<name>.ts`. */
  origin: string
  /** The file name it is compiled under. */
  name: string
  source: string
  runnable: boolean
  /** README blocks: the README line of the snippet's first line (0 for examples). */
  firstLine: number
  /** Examples run from where they are; README blocks from their copy. */
  path?: string
}

/** The ```ts blocks of a Markdown text, with the line their code starts on (1-based). */
function tsBlocks(markdown: string): Array<{ line: number; source: string; runnable: boolean }> {
  const blocks: Array<{ line: number; source: string; runnable: boolean }> = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```ts(?:\s+(.*))?$/.exec(lines[i]!)
    if (!open) continue
    const start = i + 1
    let end = start
    while (end < lines.length && lines[end] !== '```') end++
    assert.ok(end < lines.length, `the block at README.md:${i + 1} is closed`)
    const words = (open[1] ?? '').split(/\s+/)
    blocks.push({
      line: start + 1,
      source: lines.slice(start, end).join('\n'),
      runnable: words.includes('runnable'),
    })
    i = end
  }
  return blocks
}

async function snippets(): Promise<Snippet[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const found: Snippet[] = tsBlocks(readme).map((block) => ({
    origin: `README.md:${block.line}`,
    name: `readme-${block.line}.ts`,
    // A module even when a block neither imports nor exports (top-level await needs one).
    source: `${block.source}\nexport {}\n`,
    runnable: block.runnable,
    firstLine: block.line,
  }))
  for (const name of (await readdir(join(ROOT, 'examples'))).filter((n) => n.endsWith('.ts')).sort()) {
    const path = join(ROOT, 'examples', name)
    const source = await readFile(path, 'utf8')
    found.push({
      origin: `examples/${name}`,
      name: `example-${name}`,
      source,
      runnable: RUNNABLE_EXAMPLE.test(source),
      firstLine: 0,
      path,
    })
  }
  return found
}

/** A directory an app's files can run in: ESM, this repository's packages, `kappadb` mapped (tsx reads the tsconfig). */
async function appDir(parent: string, name: string, files: string[]): Promise<string> {
  const dir = join(parent, name)
  await mkdir(dir)
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  await writeFile(join(dir, 'tsconfig.json'), strictTsconfig(files))
  return dir
}

function run(file: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file],
      {
        cwd,
        env: { ...process.env, TSX_TSCONFIG_PATH: join(cwd, 'tsconfig.json') },
        timeout: RUN_DEADLINE,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

test('every ts block of the README and every example compiles under strict; the runnable ones run', async (t) => {
  const all = await snippets()
  const fromReadme = all.filter((s) => s.firstLine > 0)
  assert.ok(fromReadme.length >= 8, `README ts blocks found (${fromReadme.length})`)
  assert.ok(fromReadme.filter((s) => s.runnable).length >= 4, 'runnable README blocks found')
  assert.ok(all.filter((s) => !s.firstLine && s.runnable).length >= 3, 'runnable examples found')

  const base = await mkdtemp(join(tmpdir(), 'kappadb-snippets-'))
  t.after(() => rm(base, { recursive: true, force: true, maxRetries: 3 }))
  const checkDir = join(base, 'check')
  await mkdir(checkDir)
  const files = all.map((s) => join(checkDir, s.name))
  await Promise.all(all.map((s, i) => writeFile(files[i]!, s.source)))
  const project = join(checkDir, 'tsconfig.json')
  await writeFile(join(checkDir, 'package.json'), JSON.stringify({ type: 'module' }))
  await symlink(join(ROOT, 'node_modules'), join(checkDir, 'node_modules'), 'dir')
  await writeFile(project, strictTsconfig(files))
  const diagnostics = await compile(project)
  const where = (file: string, line: number) => {
    const i = files.indexOf(file)
    if (i < 0) return `${file}:${line}`
    const snippet = all[i]!
    return snippet.firstLine ? `README.md:${snippet.firstLine + line - 1}` : `${snippet.origin}:${line}`
  }
  assert.deepEqual(
    diagnostics.map((d) => `${where(d.file, d.line)}: ${d.message}`),
    [],
    'every snippet compiles',
  )

  for (const snippet of all.filter((s) => s.runnable)) {
    const dir = await appDir(base, `run-${snippet.name.replace(/\.ts$/, '')}`, [])
    const file = snippet.path ?? join(dir, snippet.name)
    if (!snippet.path) await writeFile(file, snippet.source)
    const result = await run(file, dir)
    assert.equal(
      result.code,
      0,
      `${snippet.origin} runs to exit code 0 (got ${result.code}):\n${result.stderr}${result.stdout}`,
    )
  }
})
