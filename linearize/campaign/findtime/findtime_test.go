//go:build sched

package findtime_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/impl/pool/pooltest"
	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// strategies are the columns of the table, in its order. free and chaos
// leave Scenario.Schedule nil; chaos runs only in a -tags sched,chaos
// build, the others only without chaos.
var strategies = []string{"free", "chaos", "random", "pct:3", "dfs:2"}

// mailboxCap is the capacity of every mailbox measured: the one the
// harness's known-bad mailbox tests use.
const mailboxCap = 2

// A runFunc runs one run of a cell: rounds of the scenario under st (nil:
// free) from seed until the first failure, the limit, or ctx's end.
type runFunc func(ctx context.Context, st schedule.Strategy, seed uint64, limit time.Duration, dir string) (linearize.Summary, error)

// A target is one known-bad implementation under its library's scenario.
type target struct {
	lib, bug string
	// skip, if set, says why the scenario cannot see the bug (its
	// library's own documentation says which check does): the target runs
	// only with FINDTIME_ALL=1.
	skip string
	// freeOnly says the bug lives outside the controlled scheduler (the
	// event queue's signals, which os/signal delivers): only free and
	// chaos run it.
	freeOnly bool
	run      runFunc
}

// measure makes the runFunc of the scenario mk returns. Its tunings are
// those of the harness's known-bad tests (linearize/harness_test.go,
// bad_runtime_test.go): a stuck call must persist 50ms, a free round
// longer than 1s is a hang.
func measure[S, In, Out any](mk func() linearize.Scenario[S, In, Out]) runFunc {
	return func(ctx context.Context, st schedule.Strategy, seed uint64, limit time.Duration, dir string) (linearize.Summary, error) {
		sc := mk()
		if _, ok := st.(schedule.DFS); ok {
			sc.Clients, sc.OpsPerClient = 2, 3 // as the campaigns explore DFS
		}
		sc.Schedule = st
		sc.Seed = seed
		sc.Rounds = -1
		sc.Duration = limit
		sc.ReportDir = dir
		sc.StuckPatience = 50 * time.Millisecond
		sc.RoundTimeout = time.Second
		ctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		return sc.RunContext(ctx, nil)
	}
}

func queueTarget(bug queuetest.Bug) target {
	return target{lib: "queue", bug: bug.String(),
		run: measure(func() linearize.Scenario[spec.Queue[int], model.QueueInput, model.QueueOutput] {
			sc := queuetest.Scenario("queue-"+bug.String(), func() spec.Queue[int] { return queuetest.BadQueue[int](bug, 0) })
			sc.Unblock = queuetest.Release[int]
			return sc
		})}
}

func lockedTarget(bug mailboxtest.Bug) target {
	return target{lib: "mailbox", bug: "locked/" + bug.String(),
		run: measure(func() linearize.Scenario[mailboxtest.Mailbox, model.MailboxInput, model.MailboxOutput] {
			return mailboxtest.Scenario("locked-"+bug.String(), mailboxCap, func(c int) mailboxtest.Mailbox { return mailboxtest.Locked(c, bug) })
		})}
}

func brokenTarget(bug mailboxtest.Bug) target {
	return target{lib: "mailbox", bug: "broken/" + bug.String(),
		run: measure(func() linearize.Scenario[mailboxtest.Mailbox, model.MailboxInput, model.MailboxOutput] {
			return mailboxtest.Scenario("broken-"+bug.String(), mailboxCap, func(c int) mailboxtest.Mailbox {
				return mailboxtest.Broken(mailbox.New[int](c), bug, 1, nil)
			})
		})}
}

func voidTarget(bug mailboxtest.Bug) target {
	return target{lib: "mailbox", bug: "void/" + bug.String(),
		run: measure(func() linearize.Scenario[mailboxtest.Void, model.MailboxInput, model.MailboxOutput] {
			return mailboxtest.VoidScenario("void-"+bug.String(), func() mailboxtest.Void {
				return mailboxtest.BrokenVoid(mailbox.NewVoid(), bug, 1)
			})
		})}
}

func runtimeTarget(bug rttest.Bug) target {
	return target{lib: "runtime", bug: bug.String(),
		run: measure(func() linearize.Scenario[rttest.Counted, model.RuntimeInput, model.RuntimeOutput] {
			sc := rttest.Scenario("runtime-"+bug.String(), func() rttest.Counted { return rttest.BadRuntime(bug) })
			sc.Unblock = rttest.Unblock
			return sc
		})}
}

func poolTarget(bug pooltest.Bug) target {
	return target{lib: "pool", bug: bug.String(),
		run: measure(func() linearize.Scenario[*pooltest.Pooled, model.PoolInput, model.PoolOutput] {
			sc := pooltest.Scenario("pool-"+bug.String(), pooltest.BadDispatcher(bug))
			// BadDispatcher asks for a fresh dispatcher per round.
			sc.New = func() *pooltest.Pooled { return pooltest.NewPooled(pooltest.BadDispatcher(bug)) }
			return sc
		})}
}

// eventqTarget is an event queue of eventqtest.BadQueue under the
// event-queue campaign's engine (eventqtest.Check), its rounds of 3
// clients of 8 steps (DFS: 2 of 3, as the campaign explores), a free round
// longer than 1s a hang, as measure's are.
func eventqTarget(bug eventqtest.Bug) target {
	return target{lib: "eventq", bug: bug.String(), freeOnly: bug.FreeOnly(),
		run: func(ctx context.Context, st schedule.Strategy, seed uint64, limit time.Duration, dir string) (linearize.Summary, error) {
			defer eventqtest.CloseLeaked() // the fds a fd-leak queue leaked
			c := eventqtest.Check{Name: "eventq-" + bug.String(), New: func() eventqtest.Queue { return eventqtest.BadQueue(bug) },
				Seed: seed, Rounds: -1, ReportDir: dir, Deadline: time.Second, Schedule: st}
			if _, ok := st.(schedule.DFS); ok {
				c.Clients, c.Ops = 2, 3
			}
			ctx, cancel := context.WithTimeout(ctx, limit)
			defer cancel()
			_, sum, err := c.Run(ctx, nil)
			return sum, err
		}}
}

// unseen are the known-bad implementations that their library says the
// scenario cannot see, by library and bug name, with why: they run only
// with FINDTIME_ALL=1.
var unseen = map[string]string{
	"queue/copies":                  pointers,
	"mailbox/broken/copies":         pointers,
	"mailbox/broken/batch-copies":   pointers,
	"mailbox/broken/batch-recv-one": "under concurrency a batch may rightly move fewer items than it could: only the sequential replay can tell (its doc comment)",
	"runtime/interrupt-runs-a-step": "the model allows the step in progress, so no history shows it: only the sequential replay can tell (its doc comment)",
	"pool/step-after-move":          moves,
	"pool/drop-returning":           moves,
}

const (
	pointers = "only a check that compares pointers (the fuzz target's sequential replay) can tell; the scenario compares values"
	moves    = "the pool scenario's jobs never move (no Goto): only the continuation campaign reaches it"
)

// named reports whether a Bug's name is its own, not "Bug(n)": the bugs of
// each library run from its first after Correct up to the first unnamed,
// so that a bug added to a library is measured without a change here.
func named(s fmt.Stringer) bool { return !strings.HasPrefix(s.String(), "Bug(") }

// accepts reports whether build, a constructor of mailboxtest, takes a
// bug: each panics at another's.
func accepts(build func()) (ok bool) {
	defer func() { ok = recover() == nil }()
	build()
	return true
}

// targets are every known-bad implementation of the five libraries, but
// their controls (Correct).
func targets() []target {
	var ts []target
	add := func(t target) {
		t.skip = unseen[t.lib+"/"+t.bug]
		ts = append(ts, t)
	}
	for b := queuetest.Correct + 1; named(b); b++ {
		add(queueTarget(b))
	}
	for b := mailboxtest.Correct + 1; named(b); b++ {
		switch {
		case accepts(func() { mailboxtest.Locked(mailboxCap, b) }):
			add(lockedTarget(b))
		case accepts(func() { mailboxtest.Broken(mailbox.New[int](mailboxCap), b, 1, nil) }):
			add(brokenTarget(b))
		case accepts(func() { mailboxtest.BrokenVoid(mailbox.NewVoid(), b, 1) }):
			add(voidTarget(b))
		}
	}
	for b := rttest.Correct + 1; named(b); b++ {
		add(runtimeTarget(b))
	}
	for b := pooltest.Correct + 1; named(b); b++ {
		add(poolTarget(b))
	}
	for b := eventqtest.Correct + 1; named(b); b++ {
		add(eventqTarget(b))
	}
	return ts
}

// A result is one run's.
type result struct {
	seed    uint64
	found   bool    // a failure within the limit
	rounds  int     // rounds run, the failing one included
	seconds float64 // to the failure, or the rounds' time when none
	kind    string  // what failed: illegal, hang, stuck, deadlock, panic, ...
}

// kind says what a failure was, in one word.
func kind(f *linearize.Failure) string {
	for _, p := range f.Problems {
		switch {
		case strings.Contains(p, "uncontrolled blocking"):
			return "uncontrolled"
		case strings.Contains(p, "controlled scheduler: step limit"):
			return "steplimit"
		case strings.Contains(p, "controlled scheduler: stopped"):
			return "stopped"
		}
	}
	switch {
	case f.Model != nil:
		return "model"
	case strings.HasPrefix(f.Stuck, "deadlock"):
		return "deadlock" // the controlled scheduler saw every goroutine blocked
	case f.Stuck != "":
		return "stuck"
	case f.Hung:
		return "hang"
	case f.Panic != "":
		return "panic"
	case f.Verdict == linearize.Illegal:
		return "illegal"
	case f.Verdict == linearize.Unknown:
		return "unknown"
	case len(f.Problems) > 0:
		return "audit"
	}
	return "other"
}

// seedOf is run i's seed: never 0 (which would mean a random one), and
// the same for run i of every cell and build.
func seedOf(i int) uint64 { return uint64(i+1) * 0x9e3779b97f4a7c15 }

// limit is how long a run may look: 10s, or FINDTIME_LIMIT.
func limit(b *testing.B) time.Duration {
	s := os.Getenv("FINDTIME_LIMIT")
	if s == "" {
		return 10 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		b.Fatalf("FINDTIME_LIMIT=%q: want a positive Go duration", s)
	}
	return d
}

// dfsLimit is FINDTIME_DFS_LIMIT: the schedules DFS runs of one program
// before it moves on to the next (0: the strategy's default, 10000).
func dfsLimit(b *testing.B) int {
	s := os.Getenv("FINDTIME_DFS_LIMIT")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("FINDTIME_DFS_LIMIT=%q: want a positive whole number", s)
	}
	return n
}

// memo keeps each run's result by benchmark and seed, so that the
// measured run does not redo the b.N = 1 probe's run.
var memo sync.Map // string -> result

func BenchmarkFind(b *testing.B) { bench(b, targets()) }

// BenchmarkControls runs the controls, each library's known-bad built
// without a bug (Correct), as BenchmarkFind runs the known-bads: a control
// must never fail (found 0), under any strategy, or the finds of the
// known-bads beside it may be the harness's or the scheduler's doing.
// Every run that does not fail takes the whole limit, so it runs only
// with FINDTIME_CONTROLS=1 (and -bench . runs the known-bads alone): run
// it with -benchtime 1x or a short FINDTIME_LIMIT.
func BenchmarkControls(b *testing.B) {
	if os.Getenv("FINDTIME_CONTROLS") != "1" {
		b.Skip("FINDTIME_CONTROLS=1 runs the controls")
	}
	bench(b, controls())
}

// controls are the known-bad libraries' implementations without a bug.
func controls() []target {
	return []target{
		queueTarget(queuetest.Correct),
		lockedTarget(mailboxtest.Correct),
		brokenTarget(mailboxtest.Correct),
		voidTarget(mailboxtest.Correct),
		runtimeTarget(rttest.Correct),
		poolTarget(pooltest.Correct),
		eventqTarget(eventqtest.Correct),
	}
}

// bench runs a sub-benchmark per target and strategy.
func bench(b *testing.B, ts []target) {
	for _, v := range []string{"INSIDEOUT_DURATION", "INSIDEOUT_ROUND", "INSIDEOUT_TOKEN"} {
		if os.Getenv(v) != "" {
			b.Fatalf("%s is set: it would change what a run does", v)
		}
	}
	all := os.Getenv("FINDTIME_ALL") == "1"
	lim := limit(b)
	for _, t := range ts {
		b.Run(t.lib+"/"+t.bug, func(b *testing.B) {
			if t.skip != "" && !all {
				b.Skip("not seen by the scenario (FINDTIME_ALL=1 runs it): " + t.skip)
			}
			for _, s := range strategies {
				if l := dfsLimit(b); l > 0 && strings.HasPrefix(s, "dfs:") {
					s += fmt.Sprintf(",limit=%d", l) // another column
				}
				b.Run(s, func(b *testing.B) { find(b, t, s, lim) })
			}
		})
	}
}

// find runs b.N runs of target t under strategy s.
func find(b *testing.B, t target, s string, lim time.Duration) {
	var st schedule.Strategy
	switch s {
	case "free":
		if chaos.Enabled {
			b.Skip("free runs in the -tags sched build, without chaos")
		}
	case "chaos":
		if !chaos.Enabled {
			b.Skip("chaos needs a build with -tags sched,chaos")
		}
	default:
		if chaos.Enabled {
			b.Skip("the controlled strategies run in the -tags sched build, without chaos")
		}
		if t.freeOnly {
			b.Skip("the bug lives outside the controlled scheduler: free and chaos only")
		}
		var err error
		if st, err = schedule.Parse(strings.Split(s, ",")[0]); err != nil {
			b.Fatal(err)
		}
		if d, ok := st.(schedule.DFS); ok {
			d.Limit = dfsLimit(b)
			st = d
		}
	}
	dir := b.TempDir()
	var rs []result
	for i := range b.N {
		seed := seedOf(i)
		key := fmt.Sprintf("%s@%#x", b.Name(), seed)
		if r, ok := memo.Load(key); ok {
			rs = append(rs, r.(result))
			continue
		}
		sum, err := t.run(context.Background(), st, seed, lim, dir)
		r := result{seed: seed, rounds: sum.Rounds, seconds: sum.Elapsed.Seconds()}
		var f *linearize.Failure
		switch {
		case errors.As(err, &f):
			r.kind = kind(f)
			r.found = sum.Elapsed <= lim
		case err != nil:
			b.Fatalf("seed %#x: not a failure of the scenario: %v", seed, err)
		default:
			r.kind = "none"
		}
		memo.Store(key, r)
		rs = append(rs, r)
	}
	var rounds, secs, found float64
	var line strings.Builder
	fmt.Fprintf(&line, "findruns %s limit=%gs n=%d", b.Name(), lim.Seconds(), len(rs))
	for _, r := range rs {
		rounds += float64(r.rounds)
		secs += r.seconds
		f := 0
		if r.found {
			f = 1
			found++
		}
		fmt.Fprintf(&line, " %#x:%d:%d:%.4f:%s", r.seed, f, r.rounds, r.seconds, r.kind)
	}
	n := float64(len(rs))
	b.ReportMetric(rounds/n, "rounds/find")
	b.ReportMetric(secs/n, "s/find")
	b.ReportMetric(found/n, "found")
	b.Log(line.String())
}

// The table itself: every target has a unique name and a scenario, every
// bug said to be unseen is a target, and every strategy parses or is free
// or chaos.
func TestTargets(t *testing.T) {
	seen := map[string]bool{}
	for _, tg := range append(targets(), controls()...) {
		name := tg.lib + "/" + tg.bug
		if seen[name] || tg.run == nil || strings.Contains(tg.bug, "Bug(") {
			t.Errorf("target %q: a duplicate, unnamed, or without a scenario", name)
		}
		seen[name] = true
		t.Logf("%s skipped=%v", name, tg.skip != "")
	}
	for name := range unseen {
		if !seen[name] {
			t.Errorf("unseen names %q, which is no target", name)
		}
	}
	for _, s := range strategies {
		if _, err := schedule.Parse(s); err != nil && s != "free" && s != "chaos" {
			t.Errorf("strategy %q: %v", s, err)
		}
	}
}
