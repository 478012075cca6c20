//go:build sched

package mailbox_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// The bug: the check-then-register window (mailboxtest.LostWakeup). A Recv
// finds the mailbox empty, lets go of the lock, and only then registers as
// a sleeper and sleeps without looking again; a send in between wakes
// nobody, and the Recv sleeps beside the item. The scenario's liveness
// check (Stuck) must report it, under PCT of depth 3 and under DFS of 2
// preemptions on 2 clients of 3 operations, with a token that replays it.
//
// Measured (seeds 1 to 10, capacity 2): pct:3 fails in round 24 to 141;
// dfs:2 in program 1 to 18 (a few hundred to 24000 schedules, up to 5s).
// The free harness catches it too, within 2 to 13 rounds for each of
// seeds 1 to 5: the known-bad mailbox widens its window with a seam.Yield,
// which a free run turns into runtime.Gosched. The test does not depend on
// that.
func TestScheduleCatchesCheckThenRegister(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []struct {
		strategy string
		seed     uint64
		rounds   int
	}{
		{"pct:3", 1, 300}, // fails in round 30
		{"dfs:2", 1, 10},  // fails in program 3, after 1507 schedules in all
	} {
		t.Run(c.strategy, func(t *testing.T) {
			st, err := schedule.Parse(c.strategy)
			if err != nil {
				t.Fatal(err)
			}
			sc := mailboxtest.Scenario("mailbox-lost-wakeup", 2, func(capacity int) mailboxtest.Mailbox {
				return mailboxtest.Locked(capacity, mailboxtest.LostWakeup)
			})
			if _, ok := st.(schedule.DFS); ok {
				sc.Clients, sc.OpsPerClient = 2, 3
			}
			sc.Schedule, sc.Seed, sc.Rounds, sc.ReportDir = st, c.seed, c.rounds, t.TempDir()
			sc.Duration = 10 * time.Second // a guard: it fails in well under a second
			sum, err := sc.Run()
			var f *linearize.Failure
			if !errors.As(err, &f) || f.Token == "" {
				t.Fatalf("%s: no failure with a token in %d rounds (%d schedules): %v", c.strategy, sum.Rounds, sum.Schedules, err)
			}
			if f.Stuck == "" {
				t.Fatalf("%s: the failure is not a call asleep beside what it waits for:\n%v", c.strategy, f)
			}
			t.Logf("%s: found in round %d after %d schedules: %s", c.strategy, sum.Rounds, sum.Schedules, f.Stuck)
		})
	}
}

// progressBound is how many of its own steps a lock-free call may take
// alone: a receipt re-reads a slot whose sender is on its way lagSpins
// (64) times, so a few hundred steps are a Try form's due; a call that
// waits for a stopped goroutine exceeds any bound.
const progressBound = 2000

// progressScenario is the mailbox scenario of capacity capacity with only
// the op named only claiming LockFree ("" keeps every Try form's claim),
// on 3 clients of 4 operations. sendContext and recvContext are left out:
// each starts a goroutine (seam.WithTimeout's virtual timer), and one
// started before the last client shifts the run's goroutine ids, which
// CheckProgress takes to be the clients in order (linearize/progress.go),
// so that it would isolate the wrong goroutine.
func progressScenario(capacity int, newMailbox func(int) mailboxtest.Mailbox, only string) linearize.Scenario[mailboxtest.Mailbox, model.MailboxInput, model.MailboxOutput] {
	sc := mailboxtest.Scenario("mailbox", capacity, newMailbox)
	sc.Clients, sc.OpsPerClient = 3, 4
	row := make([]int, len(sc.Ops))
	for i := range sc.Ops {
		op := &sc.Ops[i]
		row[i] = max(op.Weight, 1)
		if op.Name == "sendContext" || op.Name == "recvContext" {
			row[i] = 0
		}
		if only != "" {
			op.LockFree = op.Name == only
		}
	}
	sc.Roles = [][]int{row}
	return sc
}

// A stall is one failure of CheckProgress: the message, and the isolated
// client's own last step (see soloLast; zero if the trace has none).
type stall struct {
	why  string
	last seam.Event
}

// soloClient finds, in a CheckProgress message, the client it isolated
// ("... client N blocked ...", "... client N ran alone ...").
var soloClient = regexp.MustCompile(`client (\d+)(?: blocked| ran alone|, alone)`)

// soloLast returns the last step of the client that CheckProgress
// isolated, named in why, and whether it found one. The run's last step
// need not be that client's: once it blocks, a goroutine alone in being
// able to run takes steps without the chooser being asked, until there is
// a choice to refuse. Nor is the client's step the one at which it was
// isolated: a step is recorded when a goroutine reaches a switch point,
// and a lock or a park that then waits records nothing more. So the
// client is found by its goroutine: a run gives goroutine ids in order of
// spawning, one "go" step each (the root is 0, the k-th go step's
// goroutine k+1), and the round's goroutine spawns the clients in order,
// from linearize/scheduled.go.
func soloLast(why string, trace []seam.Event) (seam.Event, bool) {
	m := soloClient.FindStringSubmatch(why)
	if m == nil {
		return seam.Event{}, false
	}
	c, err := strconv.Atoi(m[1])
	if err != nil {
		return seam.Event{}, false
	}
	g, spawned, clients := -1, 0, 0
	for _, e := range trace {
		if e.Op != "go" {
			continue
		}
		spawned++
		if strings.HasPrefix(e.At, "linearize/scheduled.go:") {
			if clients == c {
				g = spawned
				break
			}
			clients++
		}
	}
	for i := len(trace) - 1; i >= 0 && g >= 0; i-- {
		if trace[i].G == g {
			return trace[i], true
		}
	}
	return seam.Event{}, false
}

// progressStalls runs sc.CheckProgress over programs programs, each under
// a random or a PCT schedule from which a client in a lock-free call is
// isolated after a varying number of decisions, and returns its failures
// (the first only, if first is set).
func progressStalls(sc linearize.Scenario[mailboxtest.Mailbox, model.MailboxInput, model.MailboxOutput], programs int, first bool) []stall {
	var stalls []stall
	for seed := range uint64(programs) {
		p := sc.Generate(linearize.NewGen(seed, 0))
		var st schedule.Strategy = schedule.Random{}
		if seed%2 == 1 {
			st = schedule.PCT{Depth: 3}
		}
		why, sr := sc.CheckProgress(p, st.Explore(seed, 0).Next(nil), int(seed%20), progressBound)
		if why != "" {
			s := stall{why: fmt.Sprintf("program %d under %s: %s\n%s", seed, st, why, sc.Format(p))}
			s.last, _ = soloLast(why, sr.Trace)
			stalls = append(stalls, s)
			if first {
				break
			}
		}
	}
	return stalls
}

// funcAt names the function of this package's source that holds place, a
// seam.Event's At ("mailbox/mailbox.go:323"), or says why it cannot.
func funcAt(place string) string {
	file, line, ok := strings.Cut(place, ":")
	n, err := strconv.Atoi(line)
	if !ok || err != nil || !strings.HasPrefix(file, "mailbox/") {
		return "outside impl/mailbox (" + place + ")"
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Base(file), nil, parser.SkipObjectResolution)
	if err != nil {
		return err.Error()
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fset.Position(fd.Pos()).Line <= n && n <= fset.Position(fd.End()).Line {
			return fd.Name.Name
		}
	}
	return "no function at " + place
}

// The lock-freedom of the mailbox's Try forms (trySend, tryRecv,
// trySendMany, tryRecvMany), held to Lincheck's obstruction-freedom check:
// a client alone inside one, every other goroutine stopped where it was,
// must finish within a bound of its own steps.
//
// The control: the mailbox under a mutex (mailboxtest.Locked), whose Try
// forms wait for a stopped lock holder, fails.
//
// impl/mailbox fails too, and the check says where, in two kinds of place
// (measured: 300 programs at each of capacities 0, 1, 2 and Unbounded,
// one Try form claiming LockFree at a time: trySend 9 failures, blocked
// on the lock in handOff 6 times and in wakeWatchers 3; tryRecv 34, parked
// in take 32 times, on the lock in takeOne and wakeWatchers once each;
// tryRecvMany 6, parked in take; trySendMany none seen, though it wakes
// sleepers through the same settle as trySend):
//
//   - tryRecv and tryRecvMany wait for a sender in flight: a receipt can
//     claim a slot whose send has taken effect (its CAS on the tail word,
//     mailbox.go trySend) but not yet written it; take re-reads the slot
//     lagSpins times, then registers under the sleepers' mutex and parks
//     until the sender writes (take: its m.mu.Lock and w.p.Park). With
//     the sender stopped the receipt never returns. The package
//     documentation says so ("Items in flight"): it is the price of an
//     exact count, which the lock-free queue, free to abandon a slot, does
//     not pay.
//
//   - trySend (and tryRecv, after a receipt) take the mutex that guards
//     the lists of sleepers, to hand an item to a sleeping receiver
//     (handOff) or to wake sleepers after a delivery or a receipt (settle:
//     wakeAll, takeOne, wakeWatchers): a goroutine stopped while holding it
//     (a Send or Recv registering itself as a sleeper) holds the Try form
//     up. So the package documentation's "lock-free on every path that
//     does not wait" does not hold of a Try form that finds a sleeper
//     bit set in the wait word: it takes a lock.
//
//   - any Try form whose snapshot finds the head word's copy of the flags
//     behind the tail word waits on the flag lock for the control
//     operation that is between its change and its copy.
//
// So the test keeps every claim and requires that each failure be one of
// these, judged by the isolated client's own last step (soloLast): blocked
// on a lock or a parker inside take, or on a lock inside handOff, the
// wake-ups or a snapshot. Any other (a spin past the bound, a wait
// elsewhere, in impl/internal/segment say) fails it. The mutex control's
// waits, in mailboxtest/locked.go, must be judged unknown. It runs the
// mailbox with whole segments and with segments of 2 positions, which the
// programs cross and recycle: reclamation (its pins, the reclaimer's flag,
// the walk from the front) must add no wait of its own.
func TestMailboxProgress(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	locked := progressStalls(progressScenario(2, func(c int) mailboxtest.Mailbox { return mailboxtest.Locked(c) }, ""), 400, true)
	if len(locked) == 0 || !strings.Contains(locked[0].why, "not obstruction-free") {
		t.Fatalf("the mailbox under a mutex passed the lock-freedom check: %v", locked)
	}
	if where, ok := knownStall(locked[0]); ok {
		t.Fatalf("the mailbox under a mutex blocked in a place taken for known (%s): %s", where, locked[0].why)
	}
	t.Logf("the mailbox under a mutex: %s (its own last step at %s: not known)", locked[0].why, locked[0].last.At)

	for _, mb := range []struct {
		name string
		new  func(int) mailboxtest.Mailbox
	}{
		{"whole segments", mailboxtest.NewMailbox},
		{"segments of 2", func(c int) mailboxtest.Mailbox { return mailbox.NewSpan(c, 2) }},
	} {
		for _, only := range []string{"trySend", "tryRecv", "trySendMany", "tryRecvMany"} {
			seen := map[string]int{}
			for _, capacity := range []int{0, 1, 2, spec.Unbounded} {
				for _, s := range progressStalls(progressScenario(capacity, mb.new, only), 300, false) {
					where, ok := knownStall(s)
					if !ok {
						t.Errorf("%s (%s, capacity %d) failed the lock-freedom check in a way not known: %s\nits own last step: g%d %s at %s, in %s",
							only, mb.name, capacity, s.why, s.last.G, s.last.Op, s.last.At, where)
						continue
					}
					seen[where]++
				}
			}
			t.Logf("%s, %s: blocked %v", only, mb.name, seen)
		}
	}
}

// knownStalls are the places where a Try form may block (see
// TestMailboxProgress): the functions of this package, and the steps in
// them.
var knownStalls = map[string][]string{
	"take":         {"lock", "park"}, // a receipt waits for its sender in flight
	"handOff":      {"lock"},         // a send hands its item to a sleeping receiver
	"wakeAll":      {"lock"},         // the wake-ups after a delivery or a receipt
	"takeOne":      {"lock"},
	"wakeWatchers": {"lock"},
	// A snapshot that finds the flags in the head word behind the tail
	// word's waits, on the flag lock, for the control operation between
	// its change and its copy (words.flagMu: without it a stale copy
	// undid a Pause, bug 18 of docs/bugs-found.md).
	"snapshot": {"lock"},
}

// knownStall says where s's client blocked ("lock in take") and whether
// that is one of knownStalls; a client that did not block (it spun past
// the bound), or whose own last step was not found, is not.
func knownStall(s stall) (string, bool) {
	fn := funcAt(s.last.At)
	where := s.last.Op + " in " + fn
	return where, s.last.At != "" && strings.Contains(s.why, "blocked inside a lock-free call") && slices.Contains(knownStalls[fn], s.last.Op)
}

// soloLast names the isolated client's own last step, not the run's last
// (a step forced on another goroutine once the client blocked), nor the
// step at which it was isolated; it counts every goroutine spawned, the
// clients' and others', to find the client's. Judging by the run's last
// step, TestMailboxProgress took a send blocked on the lock in handOff
// for a step of the goroutine holding it, in clearWait, and called it not
// known; a step forced in a known place would hide an unknown wait.
func TestSoloLastIsTheIsolatedClients(t *testing.T) {
	trace := []seam.Event{
		{G: 0, Op: "go", At: "linearize/scheduled.go:69"}, // g1, client 0
		{G: 0, Op: "go", At: "linearize/scheduled.go:69"}, // g2, client 1
		{G: 1, Op: "go", At: "mailbox/wait.go:1"},         // g3, no client
		{G: 0, Op: "go", At: "linearize/scheduled.go:69"}, // g4, client 2
		{G: 4, Op: "lock", At: "mailbox/blocking.go:65"},
		{G: 2, Op: "load", At: "mailbox/mailbox.go:1"},
		{G: 1, Op: "park", At: "mailbox/mailbox.go:2"}, // forced, after client 2 blocked
	}
	why := "not obstruction-free: client 2 blocked inside a lock-free call at step 7, with every other goroutine stopped since step 6"
	if e, ok := soloLast(why, trace); !ok || e != trace[4] {
		t.Fatalf("soloLast = %v, %v; want %v", e, ok, trace[4])
	}
	if e, ok := soloLast("not obstruction-free: client 3 blocked", trace); ok {
		t.Fatalf("soloLast found %v for a client that never started", e)
	}
}
