//go:build sched

package cubby_test

import (
	"strings"
	"testing"

	"github.com/insideout-go/insideout/internal/rapidcheck"

	"github.com/insideout-go/insideout/impl/cubby"
	"github.com/insideout-go/insideout/impl/cubby/cubbytest"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
	"pgregory.net/rapid"
)

type scenario = linearize.Scenario[*cubbytest.Cell, model.CubbyInput, model.CubbyOutput]

// controlled returns the scenario of newCubby under strategy (3
// operations per client under DFS), from seed 1.
func controlled(t *testing.T, name, strategy string, rounds int, newCubby func() spec.Cubby[cubbytest.Pair]) scenario {
	st, err := schedule.Parse(strategy)
	if err != nil {
		t.Fatal(err)
	}
	sc := cubbytest.Scenario(name, newCubby)
	if _, ok := st.(schedule.DFS); ok {
		sc.OpsPerClient = 3
	}
	sc.Schedule, sc.Seed, sc.Rounds, sc.ReportDir = st, 1, rounds, t.TempDir()
	return sc
}

func bad(bug cubbytest.Bug) func() spec.Cubby[cubbytest.Pair] {
	return func() spec.Cubby[cubbytest.Pair] { return cubbytest.Peterson(bug) }
}

// The bugs of cubbytest's known-bad cubbies (each bug's comment says how
// it fails): the controlled scheduler finds every one under PCT of depth
// 3 and under DFS of 2 preemptions on 3 operations a client, the way the
// bug's comment says, and the failure's token replays it exactly: the
// same failure, the same steps (the token's hash is checked). Without the
// turn, the writer and the reader wait on each other; without the flags,
// a call waits for a party that is not there; with the turn set before
// the flag, the reader sees a torn pair (Illegal); a waiter that says it
// sleeps after its last look sleeps through the wake-up; an Update not
// counted makes the history Illegal.
func TestScheduleCatchesKnownBads(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, bug := range cubbytest.Bugs() {
		if !bug.Scenario() {
			continue // Spins, TryLoadWaits: cubby_test.go's
		}
		for _, strategy := range []string{"pct:3", "dfs:2"} {
			t.Run(bug.String()+"/"+strategy, func(t *testing.T) {
				sc := controlled(t, "cubby-"+bug.String(), strategy, 300, bad(bug))
				sc.TestFails(t, func(f *linearize.Failure) bool {
					switch bug {
					case cubbytest.TurnFirst, cubbytest.UpdateKeepsVersion:
						return f.Verdict == linearize.Illegal
					}
					return f.Stuck != ""
				})
			})
		}
	}
}

// The control: impl/cubby passes the same scenario under PCT (every
// schedule run twice, Recheck, to show that its steps are deterministic
// and so replay) and under DFS to its bound; so does Peterson with no bug.
func TestScheduledCubbyPasses(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for name, newCubby := range map[string]func() spec.Cubby[cubbytest.Pair]{
		"cubby": cubbytest.NewCubby, "cubby-peterson": bad(cubbytest.Correct),
	} {
		sc := controlled(t, name, "pct:3", 100, newCubby)
		sc.Recheck = true
		sc.Test(t)
		sc = controlled(t, name, "dfs:2", 1, newCubby)
		sc.Test(t)
	}
}

// Rapid draws the program and the schedule (sc.Rapid with a Schedule) and
// shrinks both. The bug: the turn set before the flag
// (cubbytest.TurnFirst), whose mixed read rapid must find (after 35
// programs from rapid's seed 1) and shrink, while impl/cubby passes the
// same 40 drawn programs and schedules.
func TestRapid(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer rapidcheck.SetFlag(t, "rapid.nofailfile", "true")()
	defer rapidcheck.SetFlag(t, "rapid.checks", "40")()
	sc := controlled(t, "cubby", "pct:3", 1, cubbytest.NewCubby)
	rapid.Check(t, sc.Rapid)
	// A seed of its own and room to search; checks stop at the first
	// failure, so the room costs nothing then.
	defer rapidcheck.SetFlag(t, "rapid.seed", "1")()
	defer rapidcheck.SetFlag(t, "rapid.checks", "400")()
	bad := controlled(t, "cubby-turn-first", "pct:3", 1, bad(cubbytest.TurnFirst))
	fake := rapidcheck.NewRecorder(t.Name())
	rapid.Check(fake, bad.Rapid)
	if !fake.Failed() || !strings.Contains(fake.Message(), "Illegal") {
		t.Fatalf("rapid passed the turn set first, or failed it otherwise: %q", fake.Message())
	}
	line, _, _ := strings.Cut(fake.Message(), "\n")
	t.Logf("rapid on the turn set first: %s", line)
}

// lockedCubby is a cubby under a mutex (seam's, so that the controlled
// scheduler runs it): correct, and linearizable, but a side that leaves
// may take the lock again before the side it woke: no bounded bypass.
type lockedCubby struct {
	mu seam.Mutex
	v  cubbytest.Pair
	n  uint64
}

func (l *lockedCubby) Store(x cubbytest.Pair) {
	l.mu.Lock()
	l.v, l.n = x, l.n+1
	l.mu.Unlock()
}

func (l *lockedCubby) Update(f func(*cubbytest.Pair)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.v)
	l.n++
	return nil
}

func (l *lockedCubby) Load() (cubbytest.Pair, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.v, l.n
}

func (l *lockedCubby) TryLoad(seen uint64) (cubbytest.Pair, uint64, bool) {
	v, n := l.Load()
	return v, n, n != seen
}

func (l *lockedCubby) View(f func(*cubbytest.Pair)) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.v)
	return l.n, nil
}

// overtaken runs, under the controlled scheduler, a writer stopped inside
// Update while a Load waits for it, then lets the writer finish and Store
// again at once; and reports whether the Load saw the Store, which
// overtook it. Each seed is one random schedule.
func overtaken(t *testing.T, c spec.Cubby[cubbytest.Pair], seed uint64) bool {
	var got uint64
	res, err := seam.Run(schedule.Random{}.Explore(seed, 0).Next(nil), func() {
		inside, resume := seam.MakeParker(), seam.MakeParker()
		seam.Go(func() {
			_ = c.Update(func(p *cubbytest.Pair) { *p = cubbytest.Pair{A: 1, B: 1}; inside.Unpark(); resume.Park() })
			c.Store(cubbytest.Pair{A: 2, B: 2})
		})
		inside.Park()
		seam.Go(func() { _, got = c.Load() })
		seam.AwaitIdle() // the Load is parked behind the Update
		resume.Unpark()
	}, seam.Options{})
	if err != nil || res.Outcome != seam.Finished {
		t.Fatalf("run: %v %v: %s", err, res.Outcome, res.Failure)
	}
	return got == 2
}

// The bug: a waiting side overtaken by the other side's next call
// (spec.Cubby, Liveness: bounded bypass of one). A Load that waits behind
// an Update gets in before the writer's next Store, whatever the
// schedule: it sees the Update's version, under 200 random schedules. The
// control, a cubby under a mutex, is overtaken under some of them.
func TestBoundedBypass(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const seeds = 200
	for seed := range uint64(seeds) {
		if overtaken(t, cubbytest.NewCubby(), seed) {
			t.Fatalf("schedule %d: the writer's next Store overtook the waiting Load", seed)
		}
	}
	n := 0
	for seed := range uint64(seeds) {
		if overtaken(t, &lockedCubby{}, seed) {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("the cubby under a mutex was never overtaken in %d schedules: the check cannot tell", seeds)
	}
	t.Logf("the cubby under a mutex: overtaken in %d of %d schedules", n, seeds)
}

// The bug: a lost wake-up in the parking protocol (a wake dropped, asleep
// said too late, a flag lowered after the wake). With its looks and
// yields off, every wait of impl/cubby parks at once, and the controlled
// scheduler interleaves the parking and the waking: the scenario passes
// under PCT and DFS. (With them on, a waiter under the controlled
// scheduler yields to the other side, which can always move, and never
// parks.) The check that a lost wake-up fails, Stuck and the deadlock, is
// shown failing on cubbytest.WakeLost in TestScheduleCatchesKnownBads.
func TestScheduledParking(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer cubby.SetWaits(0, 0)()
	sc := controlled(t, "cubby-parking", "pct:3", 300, cubbytest.NewCubby)
	sc.Test(t)
	sc = controlled(t, "cubby-parking", "dfs:2", 2, cubbytest.NewCubby)
	sc.Test(t)
}
