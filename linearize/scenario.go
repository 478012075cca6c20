package linearize

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// An Op is one kind of operation that clients of a [Scenario] call on the
// system under test, of type S: it takes the model's input type In and
// returns its output type Out, so that an operation and its model that
// disagree do not compile.
type Op[S, In, Out any] struct {
	// Name identifies the operation in programs and failure messages.
	Name string
	// Weight is the operation's relative frequency; zero counts as one.
	// To keep an operation from some clients, use Scenario.Roles.
	Weight int
	// Input draws the input of one call. Nil means the zero In.
	Input func(g *Gen) In
	// Run performs one call on s and returns what the model must accept.
	Run func(s S, in In) Out
	// LockFree claims that a call finishes in a bounded number of its own
	// steps however the other goroutines are stopped: it never waits for
	// them (obstruction freedom). Scenario.CheckProgress holds it to that,
	// and a free round never runs Release while such a call is in progress.
	LockFree bool
}

// A Step is one call in a client's program: an index into Scenario.Ops
// and the input drawn for it (an In of the scenario; nil means the zero
// In).
type Step struct {
	Op    int
	Input any
}

// A Program is what every client does in one round: Program[c] is client
// c's sequence of steps.
type Program [][]Step

// A Caller records the calls that Finally and Release make, on a client of
// their own, for the history to be checked with the rest.
type Caller[In, Out any] struct{ c *Client }

// Do records one call: input in, and f's result as the output, which it
// returns.
func (c Caller[In, Out]) Do(in In, f func() Out) Out {
	return c.c.Do(in, func() any { return f() }).(Out)
}

// A Scenario describes randomized concurrent tests of one system, of type
// S, whose operations take an In and return an Out. Each round builds a
// fresh system with New, generates a program deterministically from the
// seed and the round number, starts one goroutine per client, releases
// them together, records every call and return, runs Finally, and checks
// the history against Model.
//
// A scenario that lacks New, Ops or Model, or has a Roles row whose length
// is not len(Ops), is an error in the test: Run returns it before any
// round, and Generate, Format and RunProgram panic with it.
type Scenario[S, In, Out any] struct {
	Name  string           // names the system in messages and report files
	Model Spec[In, Out]    // the sequential specification: a Model, or Porcupine(m)
	New   func() S         // builds the system under test, once per round
	Ops   []Op[S, In, Out] // what clients call

	// Roles, if set, gives client c the weights Roles[c%len(Roles)] over
	// Ops instead of their own Weights; a zero weight excludes an op. For
	// example {{1, 0}, {0, 1}} makes even clients producers and odd clients
	// consumers.
	Roles [][]int

	Clients      int // concurrent clients per round (default 3)
	OpsPerClient int // calls per client per round (default 6)
	// Rounds and Duration bound a run: it stops at whichever it reaches
	// first. Rounds defaults to 100 when Duration is not set, and to no
	// limit when it is; a negative Rounds is no limit. INSIDEOUT_DURATION
	// in the environment overrides both (see BudgetFromEnv).
	Rounds   int
	Duration time.Duration

	// Seed fixes every round's program. Zero means: take INSIDEOUT_SEED
	// from the environment if set, else a random seed. The seed in use is
	// printed in every failure message, and logged by Test before the
	// first round.
	Seed uint64

	// Finally, if set, runs after every client of a round has returned,
	// while nothing else runs: it may record further calls on its own
	// client (whose id is Clients+1), for example a Len that is exact only
	// when quiescent, and a drain that shows every item is still there.
	Finally func(s S, c Caller[In, Out])

	// Release, if set, ends a round whose calls may block for good (a Recv
	// with nothing more to come). Once every client that has not finished
	// is inside a call and no call has returned for Quiet, Release runs on
	// a client of its own (id Clients), and again whenever that holds
	// again, until every client has returned. It must end the waits (for a
	// mailbox: resume, close, interrupt); its calls are recorded and
	// checked like any other.
	Release func(s S, c Caller[In, Out])

	// Stuck, if set, is asked before each Release whether any of the calls
	// in progress (their inputs) is asleep although the state of s would
	// let it proceed, and describes the problem if so. If the description
	// persists for StuckPatience with no call returning, the round fails:
	// a call slept through the change that should have woken it (a lost
	// wake-up). Waiting out the patience keeps a wake-up that is merely
	// slow to be scheduled from counting as lost.
	Stuck func(s S, inProgress []In) string

	// Unblock, if set, is called when a round hangs, to wake the calls
	// still blocked so that their goroutines can exit after the report.
	Unblock func(s S)

	// Schedule, if set, runs every round under impl/seam's controlled
	// scheduler with this strategy (package linearize/schedule), which
	// needs a build with -tags sched: exactly one client runs between two
	// switch points of the seam, the strategy picks who goes at each, and
	// a failure's report carries a token that replays it exactly (see
	// RunScheduled and Replay). The system must reach shared memory only
	// through impl/seam. Nil runs rounds free, under Go's scheduler.
	Schedule schedule.Strategy
	// Recheck, under a Schedule, runs every schedule a second time with
	// the first run's choices and fails the round if its steps differ:
	// nondeterminism the seam does not control (map order, a real-time
	// timer, a goroutine started outside it), which would keep a failure
	// from replaying. It doubles the cost of a round.
	Recheck bool

	Quiet         time.Duration // stillness before Release (default 1ms)
	StuckPatience time.Duration // how long Stuck's answer must persist (default 250ms)
	RoundTimeout  time.Duration // a round running longer is a hang (default 10s)
	CheckTimeout  time.Duration // porcupine's limit per history (default 10s)
	ReportDir     string        // where visualizations go (default DefaultReportDir())

	ctx context.Context // of the run in progress, for runScheduled
}

// Run runs the scenario's rounds and returns what it did, and a *Failure
// for the first round that failed, if any.
func (sc *Scenario[S, In, Out]) Run() (Summary, error) {
	return sc.RunContext(context.Background(), nil)
}

// RunContext is Run, stopping early when ctx is done (which is not a
// failure), and calling progress, if not nil, after every round.
//
// If INSIDEOUT_ROUND is set in the environment, every round replays that
// one round's program: the program is the same each time, the interleaving
// is whatever the scheduler makes of it.
func (sc *Scenario[S, In, Out]) RunContext(ctx context.Context, progress func(Summary)) (sum Summary, err error) {
	c, err := sc.withDefaults()
	if err != nil {
		return sum, err
	}
	if c.Schedule != nil {
		if !seam.Enabled {
			return sum, seam.ErrDisabled
		}
		if tok, ok, err := TokenFromEnv(); err != nil || ok {
			if err == nil {
				err = c.Replay(tok)
			}
			return sum, err
		}
		c.ctx = ctx
		_, sum, err = RunRounds(ctx, c.Seed, c.Rounds, c.Duration, progress, c.runScheduled)
		return sum, err
	}
	_, sum, err = RunRounds(ctx, c.Seed, c.Rounds, c.Duration, progress, func(seed uint64, round int) RoundOutcome {
		p := c.Generate(NewGen(seed, uint64(round)))
		res := c.RunProgram(p, ChaosSeed(seed, round))
		out := RoundOutcome{Ops: res.Ops, Hung: res.Hung || res.Stuck != "", Panicked: res.Panic != "" || res.Err != nil}
		switch res.Verdict {
		case Illegal:
			out.Illegal = 1
		case Unknown:
			out.Unknown = 1
		}
		if res.Failed() {
			out.Fail = func() error { return c.Failure(p, res, seed, round) }
		}
		return out
	})
	return sum, err
}

// Test runs the scenario as part of a test: it logs the seed before the
// first round (so that a run cut short still says how to replay it) and
// the summary after the last, and fails t with the Failure's message if a
// round fails.
func (sc *Scenario[S, In, Out]) Test(t TB) {
	t.Helper()
	RunTest(t, sc.name(), sc.Seed, func(seed uint64) (Summary, error) {
		c := *sc
		c.Seed = seed
		return c.Run()
	})
}

// RunTest runs rounds as part of a test, for Scenario.Test and for the
// engines that run rounds of their own: it resolves seed (ResolveSeed),
// logs it before the first round with how to replay it, calls run with
// it, logs the summary, and fails t with the failure's message, whose
// replay line then names the test.
func RunTest(t TB, name string, seed uint64, run func(seed uint64) (Summary, error)) {
	t.Helper()
	seed, err := ResolveSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: seed %#x (replay: INSIDEOUT_SEED=%#x go test -run '^%s$')", name, seed, seed, t.Name())
	sum, err := run(seed)
	t.Logf("%s: %d rounds, %d ops, %d histories checked in %v",
		name, sum.Rounds, sum.Ops, sum.Histories, sum.Elapsed.Round(time.Millisecond))
	if f := (*Failure)(nil); errors.As(err, &f) && f.Replay == "" {
		f.Replay = fmt.Sprintf("INSIDEOUT_SEED=%#x INSIDEOUT_ROUND=%d go test -run '^%s$'", f.Seed, f.Round, t.Name())
		if f.Token != "" {
			f.Replay = fmt.Sprintf("INSIDEOUT_SEED=%#x INSIDEOUT_ROUND=%d go test -tags sched -run '^%s$'", f.Seed, f.Round, t.Name())
			f.ReplayExact = fmt.Sprintf("INSIDEOUT_TOKEN=%s go test -tags sched -run '^%s$'", f.Token, t.Name())
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TB is what Test needs of a test: *testing.T, *testing.B, *testing.F and
// *rapid.T all have it.
type TB interface {
	Helper()
	Name() string
	Logf(format string, args ...any)
	Fatal(args ...any)
}

// Generate draws one round's program from g.
func (sc *Scenario[S, In, Out]) Generate(g *Gen) Program {
	c := sc.mustDefaults()
	p := make(Program, c.Clients)
	for cl := range p {
		g.client = cl
		weights := make([]int, len(c.Ops))
		for i, op := range c.Ops {
			weights[i] = max(op.Weight, 1)
		}
		if len(c.Roles) > 0 {
			copy(weights, c.Roles[cl%len(c.Roles)])
		}
		total := 0
		for _, w := range weights {
			total += w
		}
		if total == 0 {
			continue
		}
		steps := make([]Step, 0, c.OpsPerClient)
		for range c.OpsPerClient {
			k := g.Intn(total)
			op := 0
			for k >= weights[op] {
				k -= weights[op]
				op++
			}
			var in In
			if c.Ops[op].Input != nil {
				in = c.Ops[op].Input(g)
			}
			steps = append(steps, Step{Op: op, Input: in})
		}
		p[cl] = steps
	}
	return p
}

// Format renders p one client per line, each call as name(input), or as
// a porcupine model's DescribeOperation renders it with a nil output (the
// convention of package model), if it has one.
func (sc *Scenario[S, In, Out]) Format(p Program) string {
	c := sc.mustDefaults()
	g := new(guard)
	m, _ := c.Model.model(g)
	var b strings.Builder
	for cl, steps := range p {
		fmt.Fprintf(&b, "    client %d:", cl)
		for _, st := range steps {
			name := fmt.Sprintf("op %d", st.Op)
			if st.Op >= 0 && st.Op < len(c.Ops) {
				name = c.Ops[st.Op].Name
			}
			text := fmt.Sprintf("%s(%+v)", name, st.Input)
			if d := m.DescribeOperation; d != nil && st.Input != nil {
				if s := d(st.Input, nil); s != "" && g.Err() == nil {
					text = s
				}
			}
			fmt.Fprintf(&b, " %s;", text)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// name returns the scenario's name, or "scenario".
func (sc *Scenario[S, In, Out]) name() string {
	if sc.Name == "" {
		return "scenario"
	}
	return sc.Name
}

// withDefaults returns a copy of sc with every unset field given its
// default, or the error that makes sc unusable.
func (sc *Scenario[S, In, Out]) withDefaults() (*Scenario[S, In, Out], error) {
	if err := sc.validate(); err != nil {
		return nil, fmt.Errorf("linearize: scenario %s: %w", sc.name(), err)
	}
	c := *sc
	c.Name = sc.name()
	if c.Clients <= 0 {
		c.Clients = 3
	}
	if c.OpsPerClient <= 0 {
		c.OpsPerClient = 6
	}
	if c.Quiet <= 0 {
		c.Quiet = time.Millisecond
	}
	if c.StuckPatience <= 0 {
		c.StuckPatience = 250 * time.Millisecond
	}
	if c.RoundTimeout <= 0 {
		c.RoundTimeout = 10 * time.Second
	}
	if c.CheckTimeout <= 0 {
		c.CheckTimeout = 10 * time.Second
	}
	if c.ReportDir == "" {
		c.ReportDir = DefaultReportDir()
	}
	return &c, nil
}

// mustDefaults is withDefaults for the methods that have no error to
// return: an unusable scenario is a programmer error there.
func (sc *Scenario[S, In, Out]) mustDefaults() *Scenario[S, In, Out] {
	c, err := sc.withDefaults()
	if err != nil {
		panic(err)
	}
	return c
}

// validate returns what makes sc unusable, if anything.
func (sc *Scenario[S, In, Out]) validate() error {
	switch {
	case sc.New == nil:
		return fmt.Errorf("no New")
	case len(sc.Ops) == 0:
		return fmt.Errorf("no Ops")
	case sc.Model == nil:
		return fmt.Errorf("no Model")
	}
	for i, op := range sc.Ops {
		if op.Run == nil {
			return fmt.Errorf("Ops[%d] (%s) has no Run", i, op.Name)
		}
	}
	for i, row := range sc.Roles {
		if len(row) != len(sc.Ops) {
			return fmt.Errorf("Roles[%d] has %d weights for %d Ops", i, len(row), len(sc.Ops))
		}
	}
	if _, err := sc.Model.model(new(guard)); err != nil {
		return err
	}
	return nil
}
