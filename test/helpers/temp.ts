/**
 * One temp-directory resource per test: `openInTemp(t, prefix, open)` makes a fresh directory,
 * opens the resource there, and at the end of the test closes it before removing the directory.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'

export interface Closable {
  ready(): Promise<void>
  close(): Promise<void>
}

export async function openInTemp<R extends Closable>(
  t: TestContext,
  prefix: string,
  open: (dir: string) => R,
): Promise<R & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  const resource = Object.assign(open(dir), { dir })
  // One hook, so the resource is closed before its directory goes.
  t.after(async () => {
    await resource.close()
    await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  })
  await resource.ready()
  return resource
}

/** A fresh temp directory, removed at the end of the test. */
export async function tempDir(t: TestContext, prefix = 'kappadb-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }))
  return dir
}
