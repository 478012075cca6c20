package linearize

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/spec"
)

// An Op is one kind of operation that clients of a [Scenario] call on the
// system under test, of type S.
type Op[S any] struct {
	// Name identifies the operation in programs and failure messages.
	Name string
	// Weight is the operation's relative frequency; zero counts as one.
	// To keep an operation from some clients, use Scenario.Roles.
	Weight int
	// Input draws the input of one call; the value is the model's input
	// type (for the queue, model.QueueInput). Nil means the input is nil.
	Input func(g *Gen) any
	// Run performs one call on s and returns the model's output type.
	Run func(s S, input any) any
}

// A Step is one call in a client's program: an index into Scenario.Ops
// and the input drawn for it.
type Step struct {
	Op    int
	Input any
}

// A Program is what every client does in one round: Program[c] is client
// c's sequence of steps.
type Program [][]Step

// A Scenario describes randomized concurrent tests of one primitive.
// Each round builds a fresh system with New, generates a program
// deterministically from the seed and the round number, starts one
// goroutine per client, releases them together, records every call and
// return, runs Finally, and checks the history against Model.
//
// Its methods panic if the scenario is malformed (no New, no Ops, no
// Model, a Roles row whose length is not len(Ops)): that is an error in
// the test, not in the code under test.
type Scenario[S any] struct {
	Name  string          // names the primitive in messages and report files
	Model porcupine.Model // the sequential specification
	New   func() S        // builds the system under test, once per round
	Ops   []Op[S]         // what clients call

	// Roles, if set, gives client c the weights Roles[c%len(Roles)] over
	// Ops instead of their own Weights; a zero weight excludes an op. For
	// example {{1, 0}, {0, 1}} makes even clients producers and odd clients
	// consumers.
	Roles [][]int

	Clients      int // concurrent clients per round (default 3)
	OpsPerClient int // calls per client per round (default 6)
	Rounds       int // rounds to run (default 100); negative means no limit

	// Seed fixes every round's program. Zero means: take INSIDEOUT_SEED
	// from the environment if set, else a random seed. The seed in use is
	// printed in every failure message.
	Seed uint64

	// Finally, if set, runs after every client of a round has returned,
	// while nothing else runs: it may record further operations on its own
	// client (whose id is Clients+1), for example a Len that is exact only
	// when quiescent, and a drain that shows every item is still there.
	Finally func(s S, c *Client)

	// Release, if set, ends a round whose calls may block for good (a Recv
	// with nothing more to come). Once every client that has not finished
	// is inside a call and no call has returned for Quiet, Release runs on
	// a client of its own (id Clients), and again whenever that holds
	// again, until every client has returned. It must end the waits (for a mailbox:
	// resume, close, interrupt); its calls are recorded and checked like
	// any other.
	Release func(s S, c *Client)

	// Stuck, if set, is asked before each Release whether any of the calls
	// in progress (their inputs) is asleep although the state of s would
	// let it proceed, and describes the problem if so. If the description
	// persists for StuckPatience with no call returning, the round fails:
	// a call slept through the change that should have woken it (a lost
	// wake-up). Waiting out the patience keeps a wake-up that is merely
	// slow to be scheduled from counting as lost.
	Stuck func(s S, inProgress []any) string

	// Unblock, if set, is called when a round hangs, to wake the calls
	// still blocked so that their goroutines can exit after the report.
	Unblock func(s S)

	Quiet         time.Duration // stillness before Release (default 1ms)
	StuckPatience time.Duration // how long Stuck's answer must persist (default 250ms)
	RoundTimeout  time.Duration // a round running longer is a hang (default 10s)
	CheckTimeout  time.Duration // porcupine's limit per history (default 10s)
	ReportDir     string        // where visualizations go (default DefaultReportDir())
}

// Summary counts what a run did.
type Summary struct {
	Rounds    int           // rounds run
	Ops       int           // operations recorded, Finally's included
	Histories int           // histories checked
	Illegal   int           // histories found not linearizable
	Unknown   int           // histories the checker gave up on
	Hangs     int           // rounds that did not finish in time, or had a call stuck
	Panics    int           // rounds in which an operation panicked
	Elapsed   time.Duration // wall time
}

// Failures returns the number of rounds that failed.
func (s Summary) Failures() int { return s.Illegal + s.Unknown + s.Hangs + s.Panics }

// A Failure is the report of a failed round. Its message gives the seed and
// round that replay it, the program, and the visualization's path or the
// goroutine dump.
type Failure struct {
	Scenario string
	Seed     uint64
	Round    int
	Verdict  spec.Verdict // of the history, if it was checked
	Hung     bool         // the round did not finish within RoundTimeout
	Stuck    string       // a call slept though it could proceed: what Stuck said
	Panic    string       // an operation panicked: the value and stack
	Report   string       // path of the HTML visualization, for Illegal
	Dump     string       // every goroutine's stack, for a hang
	Program  string       // the round's program
}

// Error describes the failure and how to replay it.
func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "linearize: %s: round %d of seed %#x: ", f.Scenario, f.Round, f.Seed)
	switch {
	case f.Stuck != "":
		b.WriteString("a call stayed asleep though it could proceed (lost wake-up): " + f.Stuck)
	case f.Hung:
		b.WriteString("did not finish in time: a call never returned (hang)")
	case f.Panic != "":
		b.WriteString("an operation panicked")
	case f.Verdict == spec.Illegal:
		b.WriteString("history is not linearizable (Illegal)")
	case f.Verdict == spec.Unknown:
		b.WriteString("checker timed out (Unknown, which is not a pass)")
	}
	if f.Report != "" {
		fmt.Fprintf(&b, "\n  visualization: %s", f.Report)
	}
	fmt.Fprintf(&b, "\n  replay: INSIDEOUT_SEED=%#x INSIDEOUT_ROUND=%d (same test)", f.Seed, f.Round)
	fmt.Fprintf(&b, "\n  program:\n%s", f.Program)
	if f.Panic != "" {
		fmt.Fprintf(&b, "\n  panic: %s", f.Panic)
	}
	if f.Dump != "" {
		fmt.Fprintf(&b, "\n  goroutines:\n%s", f.Dump)
	}
	return b.String()
}

// Run runs the scenario's rounds and returns what it did, and a *Failure
// for the first round that failed, if any.
func (sc *Scenario[S]) Run() (Summary, error) {
	return sc.RunContext(context.Background(), nil)
}

// RunContext is Run, stopping early when ctx is done (which is not a
// failure), and calling progress, if not nil, after every round. With
// Rounds negative it runs until ctx is done.
//
// If INSIDEOUT_ROUND is set in the environment, every round replays that
// one round's program: the program is the same each time, the interleaving
// is whatever the scheduler makes of it.
func (sc *Scenario[S]) RunContext(ctx context.Context, progress func(Summary)) (sum Summary, err error) {
	c := sc.withDefaults()
	seed, err := ResolveSeed(c.Seed)
	if err != nil {
		return sum, err
	}
	only, err := ReplayRound()
	if err != nil {
		return sum, err
	}
	begin := time.Now()
	defer func() { sum.Elapsed = time.Since(begin) }()
	for r := 0; c.Rounds < 0 || r < c.Rounds; r++ {
		if ctx.Err() != nil {
			break
		}
		round := r
		if only >= 0 {
			round = only
		}
		p := c.Generate(NewGen(seed, uint64(round)))
		res := c.RunProgram(p, seed^uint64(round)*0x9e3779b97f4a7c15)
		sum.Rounds++
		sum.Ops += res.Ops
		switch {
		case res.Hung || res.Stuck != "":
			sum.Hangs++
		case res.Panic != "":
			sum.Panics++
		default:
			sum.Histories++
			switch res.Verdict {
			case spec.Illegal:
				sum.Illegal++
			case spec.Unknown:
				sum.Unknown++
			}
		}
		if progress != nil {
			sum.Elapsed = time.Since(begin)
			progress(sum)
		}
		if res.Failed() {
			return sum, c.Failure(p, res, seed, round)
		}
	}
	return sum, nil
}

// Failure describes a failed run of program p (a result of RunProgram
// whose Failed is true), generated from seed and round: it writes the
// visualization of an Illegal history to ReportDir and returns the report
// whose message names the path, the seed and round, and the program.
func (sc *Scenario[S]) Failure(p Program, res RoundResult, seed uint64, round int) *Failure {
	c := sc.withDefaults()
	f := &Failure{
		Scenario: c.Name, Seed: seed, Round: round,
		Verdict: res.Verdict, Hung: res.Hung, Stuck: res.Stuck, Panic: res.Panic,
		Dump: res.Dump, Program: c.Format(p),
	}
	if res.Verdict == spec.Illegal && !res.Hung && res.Stuck == "" && res.Panic == "" {
		f.Report = filepath.Join(c.ReportDir, fmt.Sprintf("%s-seed-%#x-round-%d.html", sanitize(c.Name), seed, round))
		if err := res.Checked.WriteReport(f.Report); err != nil {
			f.Report = "(could not write the visualization: " + err.Error() + ")"
		}
	}
	return f
}

// Test runs the scenario as part of a test: it logs the seed and the
// summary, and fails t with the Failure's message if a round fails.
func (sc *Scenario[S]) Test(t testing.TB) {
	t.Helper()
	c := sc.withDefaults()
	seed, err := ResolveSeed(c.Seed)
	if err != nil {
		t.Fatal(err)
	}
	c.Seed = seed
	sum, err := c.Run()
	t.Logf("%s: seed %#x: %d rounds, %d ops, %d histories checked in %v",
		c.Name, c.Seed, sum.Rounds, sum.Ops, sum.Histories, sum.Elapsed.Round(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
}

// Generate draws one round's program from g.
func (sc *Scenario[S]) Generate(g *Gen) Program {
	c := sc.withDefaults()
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
			var in any
			if c.Ops[op].Input != nil {
				in = c.Ops[op].Input(g)
			}
			steps = append(steps, Step{Op: op, Input: in})
		}
		p[cl] = steps
	}
	return p
}

// Format renders p one client per line, using the model's
// DescribeOperation for inputs when it has one.
func (sc *Scenario[S]) Format(p Program) string {
	var b strings.Builder
	for cl, steps := range p {
		fmt.Fprintf(&b, "    client %d:", cl)
		for _, st := range steps {
			if d := sc.Model.DescribeOperation; d != nil && st.Input != nil {
				fmt.Fprintf(&b, " %s;", d(st.Input, nil))
			} else {
				fmt.Fprintf(&b, " %s(%v);", sc.Ops[st.Op].Name, st.Input)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// A RoundResult is what one run of a program produced.
type RoundResult struct {
	Checked        // the verdict on the history (not checked if Hung or Panic)
	Hung    bool   // a call did not return within RoundTimeout
	Stuck   string // a call slept though it could proceed (see Scenario.Stuck)
	Panic   string // an operation panicked: the value and the stack
	Dump    string // every goroutine's stack, taken when the round hung
	History []porcupine.Operation
}

// Failed reports whether the round failed: a hang, a stuck call, a panic,
// or any verdict but Ok.
func (r RoundResult) Failed() bool {
	return r.Hung || r.Stuck != "" || r.Panic != "" || r.Verdict != spec.Ok
}

// RunProgram runs p once on a fresh system: one goroutine per client,
// released together, then Finally, then the check. chaosSeed seeds the
// schedule perturbation of impl/chaos (in -tags chaos builds).
func (sc *Scenario[S]) RunProgram(p Program, chaosSeed uint64) RoundResult {
	c := sc.withDefaults()
	chaos.SetSeed(chaosSeed)
	s := c.New()
	most := 0
	for _, steps := range p {
		most = max(most, len(steps))
	}
	// Clients 0..n-1 run the program; client n is Release's, n+1 Finally's.
	rec := NewRecorder(len(p)+2, most)
	var (
		ready, done sync.WaitGroup
		start       = make(chan struct{})
		panicked    atomic.Pointer[string] // the first panic, if any
		ended       atomic.Int64           // clients that have made all their calls
		returned    atomic.Uint64          // calls returned, all clients together
	)
	for cl, steps := range p {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			defer ended.Add(1)
			defer func() {
				if v := recover(); v != nil {
					msg := fmt.Sprintf("client %d: %v\n%s", cl, v, debug.Stack())
					panicked.CompareAndSwap(nil, &msg)
				}
			}()
			client := rec.Client(cl)
			ready.Done()
			<-start
			for _, st := range steps {
				op := &c.Ops[st.Op]
				client.current.Store(&st.Input)
				call := client.Call()
				out := op.Run(s, st.Input)
				client.Return(call, st.Input, out)
				client.current.Store(nil)
				returned.Add(1)
			}
		}()
	}
	ready.Wait()
	close(start)

	clientsDone := make(chan struct{})
	var stuck atomic.Pointer[string]
	var releaser sync.WaitGroup
	if c.Release != nil {
		releaser.Go(func() {
			c.release(s, rec, len(p), &ended, &returned, clientsDone, &stuck)
		})
	}
	// Finally runs once every client has returned, and Release with them,
	// on the same clock as the clients: a Finally that blocks is a hang
	// like any other.
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done.Wait()
		close(clientsDone)
		releaser.Wait()
		if c.Finally != nil && panicked.Load() == nil {
			if msg := finally(c.Finally, s, rec.Client(len(p)+1)); msg != "" {
				panicked.CompareAndSwap(nil, &msg)
			}
		}
	}()
	timer := time.NewTimer(c.RoundTimeout)
	defer timer.Stop()
	select {
	case <-finished:
	case <-timer.C:
		res := RoundResult{Hung: true, Dump: allStacks()}
		if msg := panicked.Load(); msg != nil {
			res.Panic = *msg
		}
		if c.Unblock != nil {
			c.Unblock(s)
		}
		// Give the woken calls a moment to return, so that the goroutines
		// of a hung round do not outlive the report when they can exit.
		select {
		case <-finished:
		case <-time.After(c.RoundTimeout):
		}
		return res
	}
	if msg := panicked.Load(); msg != nil {
		return RoundResult{Panic: *msg}
	}
	if msg := stuck.Load(); msg != nil {
		what, stacks, _ := strings.Cut(*msg, "\x00")
		return RoundResult{Stuck: what, Dump: stacks}
	}
	h := rec.History()
	return RoundResult{Checked: Check(c.Model, h, c.CheckTimeout), History: h}
}

// release runs Release (see Scenario.Release and Scenario.Stuck) until
// clientsDone is closed, and records in stuck the description of a call
// found asleep although it could proceed, and every goroutine's stack,
// separated by a NUL.
func (c *Scenario[S]) release(s S, rec *Recorder, clients int, ended *atomic.Int64, returned *atomic.Uint64, clientsDone <-chan struct{}, stuck *atomic.Pointer[string]) {
	client := rec.Client(clients)
	// still waits for Quiet and reports whether no call returned meanwhile;
	// ok is false once every client has returned.
	still := func() (quiet, ok bool) {
		before := returned.Load()
		select {
		case <-clientsDone:
			return false, false
		case <-time.After(c.Quiet):
			return returned.Load() == before, true
		}
	}
	for {
		quiet, ok := still()
		if !ok {
			return
		}
		// A client between two calls is about to make the next: only when
		// every client still running is inside a call can nothing move.
		inProgress := rec.inProgress()
		if !quiet || int64(len(inProgress)) < int64(clients)-ended.Load() {
			continue
		}
		if c.Stuck != nil && stuck.Load() == nil {
			if what := c.Stuck(s, inProgress); what != "" {
				// Confirm: the same must hold, with no call returning, for
				// the whole patience.
				before := returned.Load()
				for deadline := time.Now().Add(c.StuckPatience); what != "" && time.Now().Before(deadline); {
					if _, ok := still(); !ok {
						return
					}
					if returned.Load() != before {
						what = ""
						break
					}
					what = c.Stuck(s, rec.inProgress())
				}
				if what != "" {
					report := what + "\x00" + allStacks()
					stuck.Store(&report)
				} else {
					continue
				}
			}
		}
		c.Release(s, client)
	}
}

// finally runs f, returning the panic it raised, if any, with its stack.
func finally[S any](f func(S, *Client), s S, c *Client) (panicked string) {
	defer func() {
		if v := recover(); v != nil {
			panicked = fmt.Sprintf("Finally: %v\n%s", v, debug.Stack())
		}
	}()
	f(s, c)
	return ""
}

// withDefaults returns a copy of sc with every unset field given its
// default. It panics if sc is malformed.
func (sc *Scenario[S]) withDefaults() *Scenario[S] {
	switch {
	case sc.New == nil:
		panic("linearize: Scenario " + sc.Name + " has no New")
	case len(sc.Ops) == 0:
		panic("linearize: Scenario " + sc.Name + " has no Ops")
	case sc.Model.Step == nil && sc.Model.StepContext == nil:
		panic("linearize: Scenario " + sc.Name + " has no Model")
	}
	for i, row := range sc.Roles {
		if len(row) != len(sc.Ops) {
			panic(fmt.Sprintf("linearize: Scenario %s: Roles[%d] has %d weights for %d Ops", sc.Name, i, len(row), len(sc.Ops)))
		}
	}
	c := *sc
	if c.Clients <= 0 {
		c.Clients = 3
	}
	if c.OpsPerClient <= 0 {
		c.OpsPerClient = 6
	}
	if c.Rounds == 0 {
		c.Rounds = 100
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
	if c.Name == "" {
		c.Name = "scenario"
	}
	return &c
}

// ResolveSeed returns seed if it is not zero; otherwise the value of
// INSIDEOUT_SEED (decimal, or hexadecimal with 0x) if that is set;
// otherwise a random non-zero seed. An INSIDEOUT_SEED that is not a
// non-zero number is an error, never silently replaced by a random seed:
// whoever set it meant to replay a run.
func ResolveSeed(seed uint64) (uint64, error) {
	if seed != 0 {
		return seed, nil
	}
	if v := os.Getenv("INSIDEOUT_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 0, 64)
		if err != nil || s == 0 {
			return 0, fmt.Errorf("linearize: INSIDEOUT_SEED=%q: want a non-zero number, such as 0x2a", v)
		}
		return s, nil
	}
	return rand.Uint64() | 1, nil
}

// ReplayRound returns the round named by INSIDEOUT_ROUND, or -1 if it is
// not set; one that is not a round number is an error. Campaigns that run
// rounds of their own replay that one round, as Scenario.Test does.
func ReplayRound() (int, error) {
	v := os.Getenv("INSIDEOUT_ROUND")
	if v == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("linearize: INSIDEOUT_ROUND=%q: want a round number, 0 or more", v)
	}
	return n, nil
}

// allStacks returns the stacks of every goroutine.
func allStacks() string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// sanitize makes name safe as part of a file name.
func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, name)
}
