/**
 * Type-checking programs as an app would write them: a strict tsconfig where `kappadb` (and
 * `kappadb/cli`) resolve to this repository's sources, and tsc's diagnostics as data.
 */
import { execFile } from 'node:child_process'
import { join, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc')

export interface Diagnostic {
  file: string
  line: number
  message: string
}

/** Runs tsc on a tsconfig; resolves with its diagnostics (tsc exits non-zero when there are any). */
export function compile(project: string): Promise<Diagnostic[]> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TSC, '--noEmit', '--pretty', 'false', '-p', project],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 240_000 },
      (_err, stdout) => {
        const diagnostics: Diagnostic[] = []
        for (const line of stdout.split('\n')) {
          const match = /^(.+?)\((\d+),\d+\): error (TS\d+: .*)$/.exec(line)
          if (match)
            diagnostics.push({
              file: resolvePath(ROOT, match[1]!),
              line: Number(match[2]),
              message: match[3]!,
            })
        }
        resolve(diagnostics)
      },
    )
  })
}

/** A strict tsconfig compiling `files` with `kappadb` mapped to this repository's sources. */
export function strictTsconfig(files: string[]): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      strict: true,
      skipLibCheck: true,
      noEmit: true,
      paths: { kappadb: [join(ROOT, 'src/index.ts')], 'kappadb/cli': [join(ROOT, 'src/cli/index.ts')] },
    },
    files: [
      ...files,
      ...['corestore', 'hypercore', 'hypercore-crypto', 'hyperdht', 'hyperswarm', 'protomux'].map((m) =>
        join(ROOT, `types/${m}.d.ts`),
      ),
    ],
  })
}
