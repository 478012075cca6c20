package rttest

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// GroupSize is how many runtimes a Group holds: enough for a chain of
// links (a failure passed on twice) and for a runtime linked to two.
const GroupSize = 3

// Group is the system under test of the links scenario: GroupSize
// runtimes, each running Counting, which Link and Unlink join and part,
// Signal signals, and Halter puts under a halter (HaltAfter(d), a pause
// of about d, then the halter's Stop, whose report it returns).
type Group interface {
	At(i int) Counted
	Link(i, j int) error
	Unlink(i, j int)
	Signal(i int, sig os.Signal)
	Halter(i int, d time.Duration) bool
}

// rtGroup is Group over impl/rt.
type rtGroup [GroupSize]countedRuntime

func (g *rtGroup) At(i int) Counted            { return g[i] }
func (g *rtGroup) Link(i, j int) error         { return g[i].Runtime.Link(g[j].Runtime) }
func (g *rtGroup) Unlink(i, j int)             { g[i].Runtime.Unlink(g[j].Runtime) }
func (g *rtGroup) Signal(i int, sig os.Signal) { g[i].Runtime.Signal(sig) }

func (g *rtGroup) Halter(i int, d time.Duration) bool {
	h := g[i].Runtime.HaltAfter(d)
	seam.Pause(d) // under the controlled scheduler, a switch point
	return h.Stop()
}

// HalterTimeouts are the timeouts the links scenario's halters draw: at
// once, and two that a pause of the same length meets about half the time.
var HalterTimeouts = []time.Duration{0, 20 * time.Microsecond, 100 * time.Microsecond}

// NewGroup spawns GroupSize impl/rt runtimes running Counting, unlinked.
// Under the controlled scheduler (a build with -tags sched) all but the
// first run Waiting: two runtimes whose steps only yield would hand the
// turn to each other for ever under a strategy that honours a yield (PCT),
// and no client would run.
func NewGroup() Group {
	g := new(rtGroup)
	for i := range g {
		var n seam.Int64
		c := Counting(&n)
		if seam.Enabled && i > 0 {
			c = Waiting(&n)
		}
		r, err := rt.Spawn(c)
		if err != nil {
			panic(fmt.Sprintf("rttest: spawning a runtime: %v", err))
		}
		g[i] = countedRuntime{r, &n}
	}
	return g
}

// Waiting returns a continuation that adds one to n at every step and
// never finishes, as Counting does, but whose every step waits until its
// context ends (a Halt, Freeze, Interrupt, Cancel or Eject of its
// runtime): a runtime whose step is in progress until controlled.
func Waiting(n Counter) *cont.C {
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		n.Add(1)
		seam.Await(ctx.Done())
		return c.Next()
	})
}

// Signals are the signals the links scenario sends a runtime
// (Runtime.Signal, not the process): two that halt, one that thaws, one
// that does nothing.
var Signals = []syscall.Signal{syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGCONT, syscall.SIGINT}

// GroupOps are the operations of the links scenario: every operation of
// Ops on a runtime of the group drawn for each call, Link and Unlink of
// two of them (now and then one with itself, ErrSelfLink), Signal, and a
// halter.
func GroupOps() []linearize.Op[Group, model.RuntimeInput, model.RuntimeOutput] {
	var ops []linearize.Op[Group, model.RuntimeInput, model.RuntimeOutput]
	weights := map[string]int{"halt": 1, "freeze": 3, "thaw": 3, "interrupt": 1, "cancel": 1, "eject": 1, "flags": 6, "join": 1, "steps": 5}
	for _, op := range Ops() {
		ops = append(ops, linearize.Op[Group, model.RuntimeInput, model.RuntimeOutput]{
			Name: op.Name, Weight: weights[op.Name],
			Input: func(g *linearize.Gen) model.RuntimeInput {
				in := op.Input(g)
				in.R = g.Intn(GroupSize)
				return in
			},
			Run: func(gr Group, in model.RuntimeInput) model.RuntimeOutput { return op.Run(gr.At(in.R), in) },
		})
	}
	pair := func(op model.RuntimeOp) func(*linearize.Gen) model.RuntimeInput {
		return func(g *linearize.Gen) model.RuntimeInput {
			i, j := g.Intn(GroupSize), g.Intn(GroupSize)
			if i == j && g.Intn(4) != 0 { // a self link one time in four
				j = (i + 1 + g.Intn(GroupSize-1)) % GroupSize
			}
			return model.RuntimeInput{Op: op, R: i, Peer: j}
		}
	}
	return append(ops,
		linearize.Op[Group, model.RuntimeInput, model.RuntimeOutput]{Name: "link", Weight: 4, Input: pair(model.RtLink),
			Run: func(gr Group, in model.RuntimeInput) model.RuntimeOutput {
				return model.RuntimeOutput{Err: gr.Link(in.R, in.Peer)}
			}},
		linearize.Op[Group, model.RuntimeInput, model.RuntimeOutput]{Name: "unlink", Weight: 2, Input: pair(model.RtUnlink),
			Run: func(gr Group, in model.RuntimeInput) model.RuntimeOutput {
				gr.Unlink(in.R, in.Peer)
				return model.RuntimeOutput{}
			}},
		linearize.Op[Group, model.RuntimeInput, model.RuntimeOutput]{Name: "signal", Weight: 2,
			Input: func(g *linearize.Gen) model.RuntimeInput {
				return model.RuntimeInput{Op: model.RtSignal, R: g.Intn(GroupSize), Sig: Signals[g.Intn(len(Signals))]}
			},
			Run: func(gr Group, in model.RuntimeInput) model.RuntimeOutput {
				gr.Signal(in.R, in.Sig)
				return model.RuntimeOutput{}
			}},
		linearize.Op[Group, model.RuntimeInput, model.RuntimeOutput]{Name: "halter", Weight: 2,
			Input: func(g *linearize.Gen) model.RuntimeInput {
				return model.RuntimeInput{Op: model.RtHalter, R: g.Intn(GroupSize), D: HalterTimeouts[g.Intn(len(HalterTimeouts))]}
			},
			Run: func(gr Group, in model.RuntimeInput) model.RuntimeOutput {
				return model.RuntimeOutput{Bool: gr.Halter(in.R, in.D)}
			}},
	)
}

// GroupScenario returns the links scenario of groups built by newGroup:
// control operations, links, unlinks and signals from several clients at
// once against GroupSize runtimes that count their steps, checked against
// model.Runtime: a frozen runtime runs no step, a teardown halts the
// runtimes linked to it (with ErrLinkedFailure if it failed) and no
// other, a signal does its default action.
func GroupScenario(name string, newGroup func() Group) linearize.Scenario[Group, model.RuntimeInput, model.RuntimeOutput] {
	each := func(g Group, c linearize.Caller[model.RuntimeInput, model.RuntimeOutput], op model.RuntimeOp) {
		for i := range GroupSize {
			r := g.At(i)
			c.Do(model.RuntimeInput{Op: op, R: i}, func() model.RuntimeOutput {
				switch op {
				case model.RtHalt:
					return model.RuntimeOutput{Bool: r.Halt()}
				case model.RtJoin:
					return model.RuntimeOutput{Err: r.Join()}
				case model.RtFlags:
					return model.RuntimeOutput{Flags: r.Flags()}
				}
				return model.RuntimeOutput{N: r.Steps()}
			})
		}
	}
	return linearize.Scenario[Group, model.RuntimeInput, model.RuntimeOutput]{
		Name:    name,
		Model:   linearize.Porcupine[model.RuntimeInput, model.RuntimeOutput](model.Runtime()),
		New:     newGroup,
		Ops:     GroupOps(),
		Clients: 3,
		// Four operations each: with three runtimes the model's states
		// are many, and on a loaded machine, where a history's calls
		// overlap more, porcupine's search outgrows its limit (an Unknown
		// verdict, which is not a pass): under the race detector at load
		// 8, 3 histories in 2400 of five operations a client took more
		// than a second, 1 in 2400 of four, and one of five took more
		// than a minute.
		OpsPerClient: 4,
		// Release halts every runtime, which frees every Join.
		Release: func(g Group, c linearize.Caller[model.RuntimeInput, model.RuntimeOutput]) { each(g, c, model.RtHalt) },
		Stuck: func(g Group, inProgress []model.RuntimeInput) string {
			for _, in := range inProgress {
				if in.Op == model.RtJoin && g.At(in.R).Flags()&spec.RtDead != 0 {
					return fmt.Sprintf("r%d.join() asleep though the runtime is Dead", in.R)
				}
			}
			return ""
		},
		// Finally halts and joins every runtime (a Join returns once the
		// runtimes its teardown halts are halted), then reads the first
		// one's counter: it may not have moved since the runtime was seen
		// asleep. (The campaign's rounds of 2 clients of 3 steps must stay
		// within 14 operations.)
		Finally: func(g Group, c linearize.Caller[model.RuntimeInput, model.RuntimeOutput]) {
			each(g, c, model.RtHalt)
			each(g, c, model.RtJoin)
			c.Do(model.RuntimeInput{Op: model.RtSteps}, func() model.RuntimeOutput { return model.RuntimeOutput{N: g.At(0).Steps()} })
		},
	}
}
