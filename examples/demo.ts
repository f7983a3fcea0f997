/**
 * Two peers, one key, a conflict and its resolution — with the `hyperkv` command.
 *
 *   npm run demo
 *
 * Alice and Bob each keep a database in their own directory. They write the same key while apart,
 * sync through two cross-connected `hyperkv sync` processes (as two machines would over ssh or a
 * pair of pipes), see both values (the multi-value register keeps concurrent writes), resolve the
 * conflict with a put that links both heads, sync again, and see one value everywhere.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'src/cli/bin.ts')

function hyperkvProcess(args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
}

function quote(arg: string): string {
  return /^[\w./:,=-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}

/** Runs one `hyperkv` command, echoing it and its output like a terminal session. */
async function hyperkv(who: string, ...args: string[]): Promise<string> {
  console.log(`\n${who}$ hyperkv ${args.map(quote).join(' ')}`)
  const child = hyperkvProcess(['-d', dirs[who]!, ...args])
  child.stdin.end()
  let out = ''
  let err = ''
  child.stdout.on('data', (b: Buffer) => (out += b.toString()))
  child.stderr.on('data', (b: Buffer) => (err += b.toString()))
  const [code] = (await once(child, 'close')) as [number | null]
  if (out) console.log(indent(out))
  if (code !== 0) throw new Error(`hyperkv ${args.join(' ')} exited with ${code}: ${err}`)
  return out.trim()
}

/** `hyperkv sync` on both sides, each one's stdout wired to the other's stdin. */
async function sync(): Promise<void> {
  console.log(`\nalice$ hyperkv sync  ⇄  bob$ hyperkv sync      (stdout of each piped into the other)`)
  const a = hyperkvProcess(['-d', dirs.alice!, 'sync'])
  const b = hyperkvProcess(['-d', dirs.bob!, 'sync'])
  a.stdout.pipe(b.stdin)
  b.stdout.pipe(a.stdin)
  for (const [who, child] of [
    ['alice', a],
    ['bob', b],
  ] as const) {
    child.stderr.on('data', (chunk: Buffer) => console.log(indent(chunk.toString(), `${who}: `)))
  }
  const [[codeA], [codeB]] = (await Promise.all([once(a, 'close'), once(b, 'close')])) as [[number], [number]]
  if (codeA !== 0 || codeB !== 0) throw new Error(`sync failed: alice ${codeA}, bob ${codeB}`)
  console.log('  both exited 0')
}

function indent(text: string, prefix = ''): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `  ${prefix}${line}`)
    .join('\n')
}

function say(text: string): void {
  console.log(`\n# ${text}`)
}

const base = await mkdtemp(join(tmpdir(), 'hyperkv-demo-'))
const dirs: Record<string, string> = { alice: join(base, 'alice'), bob: join(base, 'bob') }

try {
  say('Alice and Bob, each on their own, write the same key.')
  await hyperkv('alice', 'put', 'meeting', '{"day":"monday","room":"blue"}')
  await hyperkv('bob', 'put', 'meeting', '{"day":"tuesday","room":"blue"}')

  say('They sync: every node reaches both sides.')
  await sync()

  say('Both now see two values for "meeting": the writes were concurrent, so neither wins.')
  const conflict = JSON.parse(await hyperkv('alice', 'get', 'meeting')) as Record<string, unknown>
  await hyperkv('bob', 'get', 'meeting')
  const heads = Object.keys(conflict)
  if (heads.length !== 2) throw new Error(`expected two values, got ${heads.length}`)

  say('Alice resolves it: a put that links both heads supersedes them.')
  await hyperkv('alice', 'put', 'meeting', '{"day":"wednesday","room":"blue"}', '--links', heads.join(','))

  say('They sync again.')
  await sync()

  say('One value everywhere.')
  const a = await hyperkv('alice', 'get', 'meeting')
  const b = await hyperkv('bob', 'get', 'meeting')
  if (a !== b || Object.keys(JSON.parse(a) as object).length !== 1) throw new Error('the replicas differ')

  say('The history of the key, newest first: the resolution links both concurrent writes.')
  await hyperkv('bob', 'history', 'meeting')
} finally {
  await rm(base, { recursive: true, force: true })
}
