/** The package's version, read from its package.json (found upwards from here: src/ or dist/src/). */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf-8')) as {
        name?: unknown
        version?: unknown
      }
      if (pkg.name === 'kappadb' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // no package.json here: look further up
    }
    const parent = dirname(dir)
    if (parent === dir) return 'unknown'
    dir = parent
  }
}
