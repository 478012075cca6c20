package linearize

import (
	"fmt"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/impl/chaos"
)

// A RoundResult is what one run of a program produced.
type RoundResult struct {
	Checked        // the verdict on the history (not checked if Hung or Panic)
	Hung    bool   // a call did not return within RoundTimeout
	Stuck   string // a call slept though it could proceed (see Scenario.Stuck)
	Panic   string // an operation panicked: the value and the stack
	Dump    string // every goroutine's stack, taken when the round hung
	Sched   string // under the controlled scheduler: what ended the round early
	History []porcupine.Operation
}

// Failed reports whether the round failed: a hang, a stuck call, a panic,
// a mistake of the model, or any verdict but Ok.
func (r RoundResult) Failed() bool {
	return r.Hung || r.Stuck != "" || r.Panic != "" || r.Err != nil || r.Verdict != Ok
}

// Failure describes a failed run of program p (a result of RunProgram
// whose Failed is true), generated from seed and round: it writes the
// visualization of an Illegal history to ReportDir and returns the report
// whose message names the path, the seed and round, and the program. A
// seed of 0 stands for a program that rapid drew.
func (sc *Scenario[S, In, Out]) Failure(p Program, res RoundResult, seed uint64, round int) *Failure {
	c := sc.mustDefaults()
	f := &Failure{
		Scenario: c.Name, Seed: seed, Round: round,
		Verdict: res.Verdict, Hung: res.Hung, Stuck: res.Stuck, Panic: res.Panic, Model: res.Err,
		Dump: res.Dump, Program: c.Format(p),
	}
	if res.Sched != "" {
		f.Problems = append(f.Problems, "controlled scheduler: "+res.Sched)
	}
	if res.Verdict == Illegal && !res.Hung && res.Stuck == "" && res.Panic == "" && res.Err == nil {
		name := fmt.Sprintf("%s-seed-%#x-round-%d.html", sanitize(c.Name), seed, round)
		if seed == 0 {
			name = fmt.Sprintf("%s-rapid-%d.html", sanitize(c.Name), time.Now().UnixNano())
		}
		f.Report = filepath.Join(c.ReportDir, name)
		if err := res.Checked.WriteReport(f.Report); err != nil {
			f.Report = "(could not write the visualization: " + err.Error() + ")"
		}
	}
	return f
}

// RunProgram runs p once on a fresh system: one goroutine per client,
// released together, then Finally, then the check. chaosSeed seeds the
// schedule perturbation of impl/chaos (in -tags chaos builds).
func (sc *Scenario[S, In, Out]) RunProgram(p Program, chaosSeed uint64) RoundResult {
	c := sc.mustDefaults()
	inputs, err := c.inputs(p)
	if err != nil {
		return RoundResult{Checked: Checked{Verdict: Unknown, Err: err}}
	}
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
		lockFree    atomic.Int64           // clients inside a call of an Op marked LockFree
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
			for i, st := range steps {
				op, in := &c.Ops[st.Op], inputs[cl][i]
				var current any = in
				client.current.Store(&current)
				call := client.Call()
				if op.LockFree {
					lockFree.Add(1)
				}
				out := op.Run(s, in)
				if op.LockFree {
					lockFree.Add(-1)
				}
				client.Return(call, in, out)
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
			c.release(s, rec, len(p), &ended, &returned, &lockFree, clientsDone, &stuck)
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
			if msg := finally(c.Finally, s, Caller[In, Out]{rec.Client(len(p) + 1)}); msg != "" {
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
	return RoundResult{Checked: check[In, Out](c.Model, h, c.CheckTimeout), History: h}
}

// inputs returns p's inputs as In, checking each step against Ops: a
// program made by hand (a fuzz target's) may name an op that does not
// exist or carry an input of another type.
func (sc *Scenario[S, In, Out]) inputs(p Program) ([][]In, error) {
	ins := make([][]In, len(p))
	for cl, steps := range p {
		ins[cl] = make([]In, len(steps))
		for i, st := range steps {
			if st.Op < 0 || st.Op >= len(sc.Ops) {
				return nil, fmt.Errorf("client %d, step %d: op %d, but the scenario has %d Ops", cl, i, st.Op, len(sc.Ops))
			}
			if st.Input == nil {
				continue
			}
			in, ok := st.Input.(In)
			if !ok {
				return nil, fmt.Errorf("client %d, step %d (%s): the input is a %T; the scenario takes a %v", cl, i, sc.Ops[st.Op].Name, st.Input, reflect.TypeFor[In]())
			}
			ins[cl][i] = in
		}
	}
	return ins, nil
}

// release runs Release (see Scenario.Release and Scenario.Stuck) until
// clientsDone is closed, and records in stuck the description of a call
// found asleep although it could proceed, and every goroutine's stack,
// separated by a NUL. It never runs them while a client is inside a call
// that does not wait (lockFree counts those): that call returns without
// help, however long the machine keeps it from running, and a Release
// beside it would only add calls that may explain away a wrong result.
func (sc *Scenario[S, In, Out]) release(s S, rec *Recorder, clients int, ended *atomic.Int64, returned *atomic.Uint64, lockFree *atomic.Int64, clientsDone <-chan struct{}, stuck *atomic.Pointer[string]) {
	client := Caller[In, Out]{rec.Client(clients)}
	// still waits for Quiet and reports whether no call returned meanwhile;
	// ok is false once every client has returned.
	still := func() (quiet, ok bool) {
		before := returned.Load()
		select {
		case <-clientsDone:
			return false, false
		case <-time.After(sc.Quiet):
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
		if !quiet || int64(len(inProgress)) < int64(clients)-ended.Load() || lockFree.Load() > 0 {
			continue
		}
		if sc.Stuck != nil && stuck.Load() == nil {
			if what := sc.Stuck(s, typedInputs[In](inProgress)); what != "" {
				what, over := sc.confirm(s, rec, what, still, returned)
				if over {
					return
				}
				if what == "" {
					continue // a call returned meanwhile: not stuck
				}
				report := what + "\x00" + allStacks()
				stuck.Store(&report)
			}
		}
		sc.Release(s, client)
	}
}

// confirm confirms what Stuck said: the same must hold, with no call
// returning, for the whole patience. It returns what Stuck still says
// then ("" if a call returned), and over if every client returned
// meanwhile.
func (sc *Scenario[S, In, Out]) confirm(s S, rec *Recorder, what string, still func() (bool, bool), returned *atomic.Uint64) (string, bool) {
	before := returned.Load()
	for deadline := time.Now().Add(sc.StuckPatience); what != "" && time.Now().Before(deadline); {
		if _, ok := still(); !ok {
			return "", true
		}
		if returned.Load() != before {
			return "", false
		}
		what = sc.Stuck(s, typedInputs[In](rec.inProgress()))
	}
	return what, false
}

// typedInputs returns the inputs of ins that are In.
func typedInputs[In any](ins []any) []In {
	out := make([]In, 0, len(ins))
	for _, in := range ins {
		if v, ok := in.(In); ok {
			out = append(out, v)
		}
	}
	return out
}

// finally runs f, returning the panic it raised, if any, with its stack.
func finally[S, In, Out any](f func(S, Caller[In, Out]), s S, c Caller[In, Out]) (panicked string) {
	defer func() {
		if v := recover(); v != nil {
			panicked = fmt.Sprintf("Finally: %v\n%s", v, debug.Stack())
		}
	}()
	f(s, c)
	return ""
}
