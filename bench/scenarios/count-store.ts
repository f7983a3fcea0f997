/**
 * The store the scale rows measure: a Kappa on disk with a count view (levelView on classic-level)
 * beside it, opened and closed as one.
 */
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { Kappa, levelView, type LevelLike, type View } from '../../src/index.js'

export type CountApi = { count(): Promise<number> }
export type CountCore = Kappa<unknown, { count: CountApi }>
export interface CountStore {
  core: CountCore
  db: ClassicLevel<string, number>
}

function countView(db: LevelLike): View<unknown, CountApi> {
  return levelView<unknown, CountApi, number>(db, { valueEncoding: 'json' }, (vdb) => ({
    async map(entries) {
      await vdb.put('count', ((await vdb.get('count')) ?? 0) + entries.length)
    },
    api: {
      async count() {
        return (await vdb.get('count')) ?? 0
      },
    },
  }))
}

/** The store in `dir`: its logs in `dir/logs`, its view in `dir/view`. */
export function open(dir: string): CountStore {
  const db = new ClassicLevel<string, number>(join(dir, 'view'), { valueEncoding: 'json' })
  const core = new Kappa(join(dir, 'logs'), { valueEncoding: 'json' }) as CountCore
  core.use('count', countView(db as unknown as LevelLike))
  return { core, db }
}

export async function close(o: CountStore): Promise<void> {
  await o.core.close()
  await o.db.close()
}
