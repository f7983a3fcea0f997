// The kappa-core README example, with kappadb's levelView in place of kappa-view and memory-level in
// place of memdb; callback style as in the README. Run: node --import tsx examples/sum.ts  → 1
//
// Two fixes to the README's text, which did not run as printed: the entries are summed inside the
// db.get callback (the README closed it too early), and the api reads the committed sum with
// db.get (the README's `cb(null, sum)` named a variable local to map).
import { MemoryLevel } from 'memory-level'
import { kappa, levelView, type Entry, type Kappa, type ViewDb, type ViewHandle } from 'kappadb'

type SumApi = {
  get(this: ViewHandle, core: Kappa<number>, cb: (err: Error | null, value: number) => void): void
}

// Store logs in a directory called "log". Store views in memory.
const core = kappa<number, { sum: SumApi }>('./log', { valueEncoding: 'json' })
const store = new MemoryLevel<string, number>({ valueEncoding: 'json' })

// View definition
const sumview = levelView(store, function (db: ViewDb<number>) {
  return {
    // Called with a batch of log entries to be processed by the view.
    // No further entries are processed by this view until 'next()' is called.
    map: function (entries: Entry<number>[], next: (err?: Error | null) => void) {
      db.get('sum', function (err, value) {
        let sum: number
        if (err && err.notFound) sum = 0
        else if (err) return next(err)
        else sum = value
        entries.forEach(function (entry) {
          if (typeof entry.value === 'number') sum += entry.value
        })
        db.put('sum', sum, next)
      })
    },

    // Whatever is defined in the "api" object is publicly accessible
    api: {
      get: function (this: ViewHandle, core: Kappa<number>, cb: (err: Error | null, value: number) => void) {
        this.ready(function () {
          // wait for all views to catch up
          db.get('sum', cb)
        })
      },
    },
  }
})

// the api will be mounted at core.api.sum
core.use('sum', 1, sumview) // name the view 'sum' and consider the 'sumview' logic as version 1

core.writer('default', function (err, writer) {
  if (err || !writer) throw err
  writer.append(1, function (err) {
    if (err) throw err
    core.api.sum.get(function (err, value) {
      console.log(value) // 1
      void core.close()
    })
  })
})
