/**
 * Where a profiled scenario's time goes: `node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]`
 * prints the self time per package / source file and the hottest functions, and the inclusive time
 * of kappadb's own functions (src/…), from a V8 CPU profile written by `npm run bench -- --cpu-prof`.
 */
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** `node_modules/<pkg>` → the package, `src/…` → the file, node internals → `(node)`, natives → their name. */
function place(url: string): string {
  // V8 names native frames after the nearest exported symbol, often wrongly: read them as "native code".
  if (!url) return '(native code)'
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
  if (m) return m[1]!
  if (path.startsWith('node:')) return '(node internals)'
  return relative(ROOT, path)
}

function frameName(node: ProfileNode): string {
  const f = node.callFrame
  // tsx hands V8 one-line modules, so lines of src/ files carry no information; names do.
  const line = f.lineNumber > 0 ? `:${f.lineNumber + 1}` : ''
  return `${f.functionName || '(anonymous)'} ${place(f.url)}${line}`
}

function summarise(profile: Profile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0)

  const add = (map: Map<string, number>, key: string, us: number): void => {
    map.set(key, (map.get(key) ?? 0) + us)
  }
  const selfByPlace = new Map<string, number>()
  const selfByFunction = new Map<string, number>()
  const inclusiveOwn = new Map<string, number>()
  const byOwner = new Map<string, number>()
  const byLayer = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!
    const name = node.callFrame.functionName
    const label =
      name === '(idle)' || name === '(program)' || name === '(garbage collector)'
        ? name
        : place(node.callFrame.url)
    add(selfByPlace, label, us)
    add(selfByFunction, frameName(node), us)
    // Inclusive time of kappadb's own functions: count each distinct src frame once per stack.
    const seen = new Set<string>()
    let owner: string | undefined
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!
      const where = place(n.callFrame.url)
      if (!where.startsWith('src/')) continue
      owner ??= where
      const key = frameName(n)
      if (!seen.has(key)) {
        seen.add(key)
        add(inclusiveOwn, key, us)
      }
    }
    // Who caused this sample: the innermost kappadb file on the stack (libraries and native code
    // count for the file that called them); samples with no kappadb frame keep their own label.
    add(byOwner, owner ?? label, us)
    add(byLayer, owner ? owner.split('/').slice(0, 2).join('/') : label, us)
  }
  const pct = (us: number): string => `${((100 * us) / total).toFixed(1).padStart(5)}%`
  const list = (map: Map<string, number>): string =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
      .join('\n')
  return [
    `profile: ${(total / 1e6).toFixed(2)} s sampled`,
    'self time by package / file:',
    list(selfByPlace),
    'time by kappadb layer (innermost src/ frame on the stack, what it calls included):',
    list(byLayer),
    'time by the innermost kappadb file on the stack (what it calls included):',
    list(byOwner),
    'self time by function:',
    list(selfByFunction),
    "inclusive time of kappadb's functions:",
    list(inclusiveOwn),
  ].join('\n')
}

const [file, top = '15'] = process.argv.slice(2)
if (!file) {
  console.error('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]')
  process.exit(1)
}
console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(top)))
