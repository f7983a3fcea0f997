/** Help texts: `hyperkv --help`, `hyperkv help COMMAND`, `hyperkv COMMAND --help`. */

export const USAGE = `usage: hyperkv [-d DIR] [-q] COMMAND [ARGS]

  put KEY VALUE [--links h1,h2]   store VALUE (JSON, else a string) at KEY; prints the node hash
  get KEY [--fields]              print the values at KEY (hash → {value} or {deleted:true})
  del KEY [--links h1,h2]         delete KEY; prints the node hash
  list [--live] [--limit N] [--gt K] [--gte K] [--lt K] [--lte K] [--values=false] [--fields]
                                  print every key and its values, one JSON row per line
  history KEY                     print every version of KEY, newest first, one JSON row per line
  push | pull | sync [--live]     replicate over stdin and stdout
  join [TOPIC] [--bootstrap host:port,...]
                                  replicate live with every peer found on TOPIC (Hyperswarm)
  status [--json]                 the database, its writer, and what the process holding it does
  init [--key HEX] [--owned | --owner HEX]
                                  make a database with its own key (a new random one, or HEX);
                                  --owned: only writers you add write; --owner: join an owned one
  key                             print the database key
  feeds                           print every feed (writer's log) held, one JSON row per line
  block FEED [--drop]             stop taking, serving and showing feed FEED (kept in DIR only)
  unblock FEED                    take and show feed FEED again
  whoami                          print this directory's writer key (to hand to an admin)
  members [add KEY [--admin] | remove KEY [--up-to N]]
                                  print who may write to an owned database, or change it
  help [COMMAND]                  print this help, or a command's

  -d, --dir DIR    data directory (default $HYPERKV_DIR, else ~/.hyperkv)
  -q, --quiet      no progress lines on stderr
  -h, --help       help
  --version        print the version

While a join, a sync or list --live runs on DIR, every other command on DIR runs through it.
Errors: one line "hyperkv: CODE: message" on stderr; exit 2 for bad usage, 1 for a failed operation,
130 / 143 for a sync stopped by Ctrl-C / SIGTERM.
`

export const COMMAND_HELP: Readonly<Record<string, string>> = {
  put: `usage: hyperkv [-d DIR] put KEY VALUE [--links h1,h2]

  Store VALUE at KEY and print the new node's hash. VALUE is parsed as JSON; text that is not
  JSON is stored as a string (put n 5 stores the number 5, put s hello the string "hello").
  Start VALUE with "--" to pass something that looks like an option: put n -- -5. In an owned
  database, a directory whose writer no admin has added yet writes too, but the value shows
  nowhere (here neither) until an admin adds it; stderr says so.

  --links h1,h2   the node hashes this write supersedes (default: KEY's current heads);
                  --links= (empty) starts a new fork. Every hash must exist locally.
`,
  get: `usage: hyperkv [-d DIR] get KEY [--fields]

  Print KEY's current values as JSON: node hash → {"value": ...} or {"deleted": true}.
  Several entries mean concurrent writes (a conflict); {} means no such key.

  --fields   print the whole stored documents instead
`,
  del: `usage: hyperkv [-d DIR] del KEY [--links h1,h2]

  Delete KEY (store a tombstone) and print its node hash.

  --links h1,h2   the node hashes this delete supersedes (default: KEY's current heads)
`,
  list: `usage: hyperkv [-d DIR] list [OPTIONS]

  Print one JSON row per key, in key order: {"key", "links", "values"}.

  --live            keep running and print a row whenever a key changes (stop with Ctrl-C)
  --limit N         at most N rows (not counting live rows)
  --gt K, --gte K, --lt K, --lte K
                    only keys in that range
  --values=false    leave out "values"
  --fields          "values" hold the whole stored documents
`,
  history: `usage: hyperkv [-d DIR] history KEY

  Print every version of KEY reachable from its current heads, one JSON row per line:
  {"key", "link", "value", "links"}. Newer versions come before their ancestors.
`,
  push: `usage: hyperkv [-d DIR] push [--live]

  Send this database over stdout to a "hyperkv pull" or "hyperkv sync" reading stdin.
  Only the replication protocol goes to stdout; progress (at most a line a second, -q silences
  it) and errors go to stderr. Ctrl-C interrupts it: exit 130 (SIGTERM: 143).

  --live   keep the connection open and send new writes as they come
`,
  pull: `usage: hyperkv [-d DIR] pull [--live]

  Receive from a "hyperkv push" or "hyperkv sync" over stdin and stdout.

  --live   keep the connection open and receive new writes as they come
`,
  sync: `usage: hyperkv [-d DIR] sync [--live]

  Exchange every write both ways with another "hyperkv sync" over stdin and stdout, e.g.
  mkfifo f; hyperkv -d A sync < f | hyperkv -d B sync > f
  Both exit 0 once both databases hold the same nodes; the last line on stderr says what moved.
  Ctrl-C interrupts it (exit 130; SIGTERM: 143): what arrived is kept, the next sync goes on.
  stdin and stdout must not be a terminal.

  --live   keep the connection open and exchange new writes as they come
`,
  join: `usage: hyperkv [-d DIR] join [TOPIC] [--bootstrap host:port,...]

  Replicate live with every peer that joins TOPIC on the Hyperswarm DHT, reconnecting as peers
  come and go, until Ctrl-C. TOPIC is any name; without it the topic comes from the database key,
  so all replicas of this database meet; a database with the open key (never initialised) needs
  a TOPIC, since every such database would meet there. Progress (peers, nodes received) goes to stderr; when
  no DHT bootstrap node answers, a warning says so within seconds (and join keeps trying).
  The peer identity is kept in DIR/peer.key, so peers see the same peer on every run.

  --bootstrap host:port,...   DHT bootstrap nodes (default $HYPERKV_BOOTSTRAP, else the public ones)
`,
  status: `usage: hyperkv [-d DIR] status [--json]

  Print the database key (or "open key"), this directory's writer key, how many feeds, entries
  and nodes it holds, and, when a hyperkv process holds the directory (join, sync, list --live),
  what that process runs, its connected peers with what moved each way and what is still to
  move, and whether a DHT bootstrap node answers. --json: the same as one JSON object.
`,
  init: `usage: hyperkv [-d DIR] init [--key HEX] [--owned | --owner HEX]

  Make a database in DIR with its own key, store the key in DIR/db.key (readable by you only)
  and print it. Only stores with the same key replicate, and \`join\` without a TOPIC meets
  them on a topic derived from it. A directory that already holds a database is refused.
  Without init, a directory uses the open key, which every hyperkv shares.

  --key HEX     use this key (64 hex characters: another replica's \`hyperkv key\`)
  --owned       an owned database: this directory's writer is its owner and first admin, and
                only the writers an admin adds (hyperkv members add) write to it
  --owner HEX   join an owned database (with --key): HEX is its owner's writer key (the owner's
                \`hyperkv whoami\`); this directory writes once an admin adds its own whoami
`,
  key: `usage: hyperkv [-d DIR] key

  Print the database key as hex. A directory never initialised prints the open key (and says so
  on stderr).
`,
  feeds: `usage: hyperkv [-d DIR] feeds

  Print one JSON row per feed held (one per writer): {"key", "name", "length", "blocked"};
  "name" only for this directory's own writers; "blocked" after hyperkv block. In an owned
  database each row also says whether its writer may write: "role", "status" (member, removed
  or none) and, once removed, "upTo".
`,
  block: `usage: hyperkv [-d DIR] block FEED [--drop]

  Block the feed FEED (a key from hyperkv feeds; one never seen may be blocked in advance): this
  directory no longer downloads it, serves it, offers it to peers or shows its puts. Honest puts
  that link to its nodes stay visible. The block is kept in DIR and never replicated; prints
  {"key", "blocked": true}. Blocking this directory's own writer: ERR_INVALID_ARGUMENT.

  --drop   also free its stored blocks (refused, ERR_INVALID_ARGUMENT, while a hyperkv database
           needs them to resolve links: every hyperkv feed is one)
`,
  unblock: `usage: hyperkv [-d DIR] unblock FEED

  Lift a block: FEED's puts show again (as far as they are stored) and it replicates again.
  Prints {"key", "blocked": false}.
`,
  whoami: `usage: hyperkv [-d DIR] whoami

  Print this directory's writer key: the key an admin of an owned database adds
  (hyperkv members add KEY) so this directory's writes count. DIR must hold a database
  (hyperkv init makes one); whoami creates nothing.
`,
  members: `usage: hyperkv [-d DIR] members [add KEY [--admin] | remove KEY [--up-to N]]

  Who may write to an owned database (made by hyperkv init --owned).
  members               one JSON row per writer any record names, removed ones included:
                        {"key", "role", "status", "upTo"} ("upTo" only once removed)
  members add KEY       let writer KEY (its hyperkv whoami) write; its whole feed counts,
                        what it wrote before included. --admin: it may add and remove too.
  members remove KEY    stop counting writer KEY's entries from --up-to N on (default: as many
                        as this directory holds); those below N stay. Entries it writes later,
                        even while cut off from everyone, never count anywhere.
  add and remove print the writer's row afterwards. Only an admin may add or remove
  (anyone else: ERR_NOT_WRITABLE); the owner cannot be removed. The records travel with the
  data (sync, join).
`,
  help: `usage: hyperkv help [COMMAND]

  Print the general help, or COMMAND's.
`,
}
