// Package findtime measures how long each checking strategy takes to find
// each planted bug of the known-bad libraries: the queues of
// impl/queue/queuetest, the mailboxes of impl/mailbox/mailboxtest (Locked,
// Broken, BrokenVoid), the runtimes of impl/rt/rttest and the dispatchers
// of impl/pool/pooltest, each under its library's linearizability
// scenario, and the event queues of impl/eventq/eventqtest (BadQueue)
// under the event-queue campaign's engine (eventqtest.Check), which runs
// controlled too: its queue's waits park through the seam and the
// kernel's firings are steps of a goroutine of the run.
//
// The package holds no code of its own, only benchmarks (findtime_test.go,
// built with -tags sched), named
//
//	BenchmarkFind/<library>/<bug>/<strategy>
//
// where the strategy is one of
//
//   - free: rounds under Go's own scheduler (Scenario.Schedule nil);
//   - chaos: the same, with impl/chaos's random yields at every
//     seam.Point (a build with -tags sched,chaos);
//   - random, pct:3, dfs:2: every round under impl/seam's controlled
//     scheduler with that strategy (linearize/schedule). DFS explores
//     programs of 2 clients of 3 operations, as the campaigns do; the
//     others keep the scenario's default clients and operations.
//
// Each iteration of b.N is one run with its own seed (derived from the
// iteration's number, so that run i of a cell has the same seed in every
// build): rounds until the first failure of the scenario, or until the
// limit (10 s; FINDTIME_LIMIT, a Go duration, changes it), after which the
// run counts as not found. A benchmark reports the means over its runs:
// rounds/find (rounds run, the failing one included; a run that did not
// find counts the rounds it ran), s/find (seconds to the failure, or the
// limit) and found (the share of runs that found the bug within the
// limit). It also logs one line, "findruns ...", with every run's seed,
// outcome, rounds, seconds and kind of failure, from which
// cmd/aggregate makes the table of medians in docs/find-times.md.
//
// The testing package runs every benchmark once with b.N = 1 before its
// measured run; that probe's run is the measured run's first (same seed),
// so its result is kept and reused rather than run twice.
//
// Run it in two builds, the free and controlled strategies in one and
// chaos in the other (each build skips the strategies of the other):
//
//	go test -tags sched -run '^$' -bench . -benchtime 10x -timeout 0 ./linearize/campaign/findtime > sched.txt
//	go test -tags sched,chaos -run '^$' -bench . -benchtime 10x -timeout 0 ./linearize/campaign/findtime > chaos.txt
//	go run ./linearize/campaign/findtime/cmd/aggregate sched.txt chaos.txt
//
// The bugs are each library's own, from the first after Correct up to the
// last named one, so that a bug added to a library is measured without a
// change here (the mailbox's go to the constructor that takes them:
// Locked, Broken over a real mailbox, or BrokenVoid); every mailbox has
// capacity 2, and every bug that counts strikes every time (every = 1).
//
// -bench takes a pattern per level of the name: -bench 'Find/queue/' runs
// one library, -bench 'Find/mailbox/locked/lost-wakeup/pct:3' one cell.
// Bugs that their library says the scenario cannot see (a copy with the
// right value, a bug only the continuation campaign's moves reach) are
// listed but skipped unless FINDTIME_ALL=1. FINDTIME_DFS_LIMIT=N caps the
// schedules DFS runs of one program at N (default 10000) before it moves
// to the next program, and names the column dfs:2,limit=N.
// INSIDEOUT_DURATION, INSIDEOUT_ROUND and INSIDEOUT_TOKEN must not be set:
// they would change what a run does.
//
// BenchmarkControls runs each library's implementation without a bug
// (Correct) the same way, to show that no strategy fails it: a run there
// takes the whole limit, so it runs only with FINDTIME_CONTROLS=1, once
// per cell,
//
//	FINDTIME_CONTROLS=1 go test -tags sched -run '^$' -bench Controls -benchtime 1x -timeout 0 ./linearize/campaign/findtime
//
// and its rows (Controls/...) must read 0/1.
//
// Without -bench, go test runs one quick test of the table itself.
package findtime
