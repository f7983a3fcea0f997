/**
 * The seed README's example (examples/sum.ts: kappa-view → levelView, memdb → memory-level) runs
 * as its own process and prints 1.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { tempDir } from '../helpers/kappa.js'

const EXAMPLE = fileURLToPath(new URL('../../examples/sum.ts', import.meta.url))
const TSX = import.meta.resolve('tsx/esm')

test('examples/sum.ts prints 1', async (t) => {
  // The example stores its logs in ./log: run it in a temp directory. It imports `kappadb` as an
  // app does; the repository's tsconfig maps that to the sources.
  const cwd = await tempDir(t)
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', TSX, EXAMPLE], {
    cwd,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)),
    },
    timeout: 30_000,
  })
  assert.equal(stdout, '1\n')
})
