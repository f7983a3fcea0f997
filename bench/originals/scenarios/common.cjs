'use strict'
// Shared helpers for the original projects' bench scenarios (plain CommonJS, run by bench/run.ts in a
// fresh child process each). A scenario prints exactly one line `RESULT <json>` on stdout.
const fs = require('fs')
const os = require('os')
const path = require('path')

function tmpdir (label) {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kappadb-bench-orig-' + label + '-'))
}

function rm (dir) {
  fs.rmSync(dir, { recursive: true, force: true })
}

function now () {
  return Number(process.hrtime.bigint()) / 1e9
}

/** Peak resident set size of this process so far, in MB. */
function peakRssMB () {
  return process.resourceUsage().maxRSS / 1024
}

/** `count` operations in `seconds`; `unit` names what was counted. */
function report (fields) {
  const out = Object.assign({ peakRssMB: peakRssMB() }, fields)
  if (out.count !== undefined && out.seconds !== undefined) out.rate = out.count / out.seconds
  process.stdout.write('RESULT ' + JSON.stringify(out) + '\n')
}

function args () {
  const a = process.argv.slice(2)
  return { scenario: a[0], backend: a[1], n: Number(a[2]) }
}

function fail (err) {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
}

/** Promisify a Node-style call. */
function p (fn) {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))))
}

// Runs the scenario named on the command line from `scenarios`, reports its result and exits.
function runMain (scenarios) {
  async function main () {
    const { scenario, backend, n } = args()
    const run = scenarios[scenario]
    if (!run) throw new Error('unknown scenario ' + scenario)
    report(await run(backend, n))
    process.exit(0)
  }
  main().catch(fail)
}

module.exports = { tmpdir, rm, now, peakRssMB, report, args, fail, p, runMain }
