/**
 * kappadb as an app gets it: the package is built and packed (`npm pack`) from a copy of this
 * repository, the tarball is installed into a fresh project (test/package/app) — extracted as npm
 * extracts it, its dependencies taken from this repository's node_modules, so no registry or
 * network is involved — and the app, which imports its own `hypercore` under its own declaration,
 * type-checks under strict (the package's declarations checked too: no skipLibCheck) and runs.
 *
 * Also checked on the tarball: the public declarations import none of the untyped dependencies,
 * every source map points at a file the package ships, `require('kappadb')` works where Node can
 * require ES modules, and `kappadb/cli` and the `hyperkv` bin are there.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve as resolvePath } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const modules = join(root, 'node_modules')
const tsc = join(modules, 'typescript/bin/tsc')
/** The dependencies that ship no types: the package's public declarations must not import them. */
const UNTYPED = [
  'hypercore',
  'corestore',
  'hyperswarm',
  'hyperdht',
  'protomux',
  'hypercore-crypto',
  '@hyperswarm/',
]

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command to its end (a deadline kills it), never rejecting. */
function run(file: string, args: string[], cwd: string, timeout = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

function ok(result: Run, what: string): string {
  assert.equal(result.code, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`)
  return result.stdout
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listFiles(full)))
    else out.push(full)
  }
  return out
}

/** The `.d.ts` files reachable from `entry`, and the bare modules they import. */
async function declarationImports(entry: string): Promise<Map<string, string[]>> {
  const seen = new Set<string>()
  const bare = new Map<string, string[]>()
  const queue = [entry]
  while (queue.length > 0) {
    const file = queue.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    const source = await readFile(file, 'utf8')
    for (const match of source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const specifier = match[1]!
      if (specifier.startsWith('.'))
        queue.push(resolvePath(dirname(file), specifier.replace(/\.js$/, '.d.ts')))
      else bare.set(specifier, [...(bare.get(specifier) ?? []), relative(dirname(entry), file)])
    }
    for (const match of source.matchAll(/\/\/\/\s*<reference\s+(?:path|types)="([^"]+)"/g)) {
      bare.set(`reference ${match[1]!}`, [relative(dirname(entry), file)])
    }
  }
  return bare
}

test('the packed tarball installs into a fresh project whose own hypercore import, strict type-check and program all work', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'kappadb-package-'))
  t.after(() => rm(work, { recursive: true, force: true, maxRetries: 3 }))

  // 1. Build and pack a copy, so this repository's own dist is left alone.
  const stage = join(work, 'stage')
  await mkdir(stage)
  for (const name of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'src', 'types']) {
    await cp(join(root, name), join(stage, name), { recursive: true })
  }
  await symlink(modules, join(stage, 'node_modules'), 'dir')
  ok(await run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], stage), 'the build')
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const packed = ok(
    await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], stage),
    'npm pack',
  )
  const [{ filename }] = JSON.parse(packed) as [{ filename: string }]
  const tarball = join(work, filename)

  // 2. Install it as npm would: the tarball's package/ as node_modules/kappadb; the dependencies
  //    from this repository (what `npm install` would fetch, without the network).
  const app = join(work, 'app')
  await cp(join(root, 'test/package/app'), app, { recursive: true })
  const appModules = join(app, 'node_modules')
  const installed = join(appModules, 'kappadb')
  await mkdir(installed, { recursive: true })
  ok(
    await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], app),
    'extracting the tarball',
  )
  for (const name of await readdir(modules)) {
    if (name === 'kappadb' || name.startsWith('.')) continue
    await symlink(join(modules, name), join(appModules, name), 'dir')
  }

  // 3. What the tarball holds.
  const files = (await listFiles(installed)).map((f) => relative(installed, f))
  assert.ok(files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts'))
  assert.ok(files.includes('dist/src/cli/index.d.ts') && files.includes('dist/src/cli/bin.js'))
  assert.ok(
    !files.some((f) => f.startsWith('types/') || f.startsWith('test/')),
    'no internal declarations or tests',
  )
  for (const map of files.filter((f) => f.endsWith('.js.map'))) {
    const { sources } = JSON.parse(await readFile(join(installed, map), 'utf8')) as { sources: string[] }
    for (const source of sources) {
      const target = relative(installed, resolvePath(dirname(join(installed, map)), source))
      assert.ok(files.includes(target), `${map} points at ${target}, which the package ships`)
    }
  }
  for (const entry of ['dist/src/index.d.ts', 'dist/src/cli/index.d.ts']) {
    const imports = await declarationImports(join(installed, entry))
    const leaks = [...imports].filter(
      ([specifier]) =>
        specifier.startsWith('reference ') || UNTYPED.some((u) => specifier === u || specifier.startsWith(u)),
    )
    assert.deepEqual(leaks, [], `${entry}'s declarations import no untyped dependency`)
    assert.deepEqual(
      [...imports.keys()].filter((s) => !s.startsWith('node:')).sort(),
      ['abstract-level'],
      `${entry}'s declarations need only node and abstract-level`,
    )
  }

  // 4. The app type-checks under strict, with the package's declarations checked too, then runs.
  ok(await run(process.execPath, [tsc, '-p', 'tsconfig.json'], app), 'tsc on the app')
  const output = ok(await run(process.execPath, ['out/app.js'], app, 120_000), 'the app')
  assert.deepEqual(JSON.parse(output.trim().split('\n').pop()!), {
    own: 1,
    lists: [
      ['hi alice', 'hi bob', 'see you'],
      ['hi alice', 'hi bob', 'see you'],
    ],
    counts: [1],
    help: true,
  })

  // 5. The bin, and CommonJS: require() of the ES module where Node supports it, else Node's own
  //    ERR_REQUIRE_ESM (the README says: ESM only; use import()).
  const help = await run(process.execPath, [join(installed, 'dist/src/cli/bin.js'), '--help'], app, 60_000)
  assert.equal(help.code, 0)
  assert.match(help.stdout, /hyperkv/)
  const cjs = join(work, 'cjs')
  await mkdir(cjs)
  await writeFile(
    join(cjs, 'package.json'),
    JSON.stringify({ name: 'cjs-app', version: '1.0.0', type: 'commonjs' }),
  )
  await symlink(appModules, join(cjs, 'node_modules'), 'dir')
  const required = await run(
    process.execPath,
    ['-e', "process.stdout.write(typeof require('kappadb').kappa)"],
    cjs,
    60_000,
  )
  const features = process.features as { require_module?: boolean }
  if (features.require_module) assert.equal(required.stdout, 'function', required.stderr)
  else assert.match(required.stderr, /ERR_REQUIRE_ESM/)
})
