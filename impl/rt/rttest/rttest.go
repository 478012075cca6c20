// Package rttest checks runtimes, such as impl/rt's: the linearizability
// scenario of control calls (halt, freeze, thaw, interrupt, cancel, eject,
// flags, join) against a runtime that counts its steps, which
// `insideout verify`, the tests, the stress suites and the fuzz targets
// run.
package rttest

import (
	"context"
	"fmt"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// Counted is the system under test of the runtime scenario: a runtime
// running a continuation that counts its steps, seen through the
// operations the model knows. Eject reports only its error.
type Counted interface {
	Halt() bool
	Freeze() bool
	Thaw() bool
	Interrupt()
	Cancel() bool
	Eject() error
	Flags() spec.RuntimeFlags
	Join() error
	Steps() int64
}

// countedRuntime is Counted over impl/rt.
type countedRuntime struct {
	*rt.Runtime
	steps *seam.Int64
}

func (c countedRuntime) Eject() error {
	_, err := c.Runtime.Eject()
	return err
}

func (c countedRuntime) Steps() int64 { return c.steps.Load() }

// A Counter is the step counter of Counting: a *seam.Int64, which the
// controlled scheduler (impl/seam) sees, or sync/atomic's Int64, which it
// does not (package fuzz's replay passes one).
type Counter interface {
	Add(delta int64) int64
}

// Counting returns a continuation that adds one to n at every step and
// never finishes; each step pauses a few microseconds (seam.Pause), so
// that control operations land between steps and inside them.
func Counting(n Counter) *cont.C {
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		n.Add(1)
		seam.Pause(time.Microsecond)
		return c.Next()
	})
}

// NewCounted spawns an impl/rt runtime running Counting.
func NewCounted() Counted {
	var n seam.Int64
	r, err := rt.Spawn(Counting(&n))
	if err != nil {
		panic(fmt.Sprintf("rttest: spawning a runtime: %v", err))
	}
	return countedRuntime{r, &n}
}

// Ops are the operations of the runtime scenario: every control
// operation, Flags, Join, and reads of the step counter, weighted so that
// freezes and thaws are frequent and halts rare.
func Ops() []linearize.Op[Counted, model.RuntimeInput, model.RuntimeOutput] {
	in := func(op model.RuntimeOp) func(*linearize.Gen) model.RuntimeInput {
		return func(*linearize.Gen) model.RuntimeInput { return model.RuntimeInput{Op: op} }
	}
	return []linearize.Op[Counted, model.RuntimeInput, model.RuntimeOutput]{
		{Name: "halt", Weight: 1, Input: in(model.RtHalt),
			Run: func(r Counted, _ model.RuntimeInput) model.RuntimeOutput { return model.RuntimeOutput{Bool: r.Halt()} }},
		{Name: "freeze", Weight: 5, Input: in(model.RtFreeze),
			Run: func(r Counted, _ model.RuntimeInput) model.RuntimeOutput {
				return model.RuntimeOutput{Bool: r.Freeze()}
			}},
		{Name: "thaw", Weight: 5, Input: in(model.RtThaw),
			Run: func(r Counted, _ model.RuntimeInput) model.RuntimeOutput { return model.RuntimeOutput{Bool: r.Thaw()} }},
		{Name: "interrupt", Weight: 2, Input: in(model.RtInterrupt),
			Run: func(r Counted, _ model.RuntimeInput) model.RuntimeOutput { r.Interrupt(); return model.RuntimeOutput{} }},
		{Name: "cancel", Weight: 1, Input: in(model.RtCancel),
			Run: func(r Counted, _ model.RuntimeInput) model.RuntimeOutput {
				return model.RuntimeOutput{Bool: r.Cancel()}
			}},
		{Name: "eject", Weight: 2, Input: in(model.RtEject),
			Run: func(r Counted, _ model.RuntimeInput) model.RuntimeOutput { return model.RuntimeOutput{Err: r.Eject()} }},
		{Name: "flags", Weight: 8, Input: in(model.RtFlags),
			Run: func(r Counted, _ model.RuntimeInput) model.RuntimeOutput {
				return model.RuntimeOutput{Flags: r.Flags()}
			}},
		{Name: "join", Weight: 1, Input: in(model.RtJoin),
			Run: func(r Counted, _ model.RuntimeInput) model.RuntimeOutput { return model.RuntimeOutput{Err: r.Join()} }},
		{Name: "steps", Weight: 8, Input: in(model.RtSteps),
			Run: func(r Counted, _ model.RuntimeInput) model.RuntimeOutput { return model.RuntimeOutput{N: r.Steps()} }},
	}
}

// Release ends a round: it halts the runtime (which frees every
// Join) and records it.
func Release(r Counted, c linearize.Caller[model.RuntimeInput, model.RuntimeOutput]) {
	c.Do(model.RuntimeInput{Op: model.RtHalt}, func() model.RuntimeOutput { return model.RuntimeOutput{Bool: r.Halt()} })
}

// Stuck reports a Join still asleep though the runtime is Dead.
func Stuck(r Counted, inProgress []model.RuntimeInput) string {
	if r.Flags()&spec.RtDead == 0 {
		return ""
	}
	for _, in := range inProgress {
		if in.Op == model.RtJoin {
			return "join() asleep though the runtime is Dead"
		}
	}
	return ""
}

// Finally records, once every client has returned, a Halt (no
// client may have halted it), a Join, and the flags and the counter,
// twice: a torn-down runtime must stay still.
func Finally(r Counted, c linearize.Caller[model.RuntimeInput, model.RuntimeOutput]) {
	c.Do(model.RuntimeInput{Op: model.RtHalt}, func() model.RuntimeOutput { return model.RuntimeOutput{Bool: r.Halt()} })
	c.Do(model.RuntimeInput{Op: model.RtJoin}, func() model.RuntimeOutput { return model.RuntimeOutput{Err: r.Join()} })
	for range 2 {
		c.Do(model.RuntimeInput{Op: model.RtFlags}, func() model.RuntimeOutput { return model.RuntimeOutput{Flags: r.Flags()} })
		c.Do(model.RuntimeInput{Op: model.RtSteps}, func() model.RuntimeOutput { return model.RuntimeOutput{N: r.Steps()} })
	}
}

// Scenario returns the linearizability scenario of runtimes built
// by newRuntime: control operations from several clients at once against
// a runtime that counts its steps; a frozen runtime must run no step.
func Scenario(name string, newRuntime func() Counted) linearize.Scenario[Counted, model.RuntimeInput, model.RuntimeOutput] {
	return linearize.Scenario[Counted, model.RuntimeInput, model.RuntimeOutput]{
		Name:         name,
		Model:        linearize.Porcupine[model.RuntimeInput, model.RuntimeOutput](model.Runtime()),
		New:          newRuntime,
		Ops:          Ops(),
		Clients:      3,
		OpsPerClient: 6,
		Release:      Release,
		Stuck:        Stuck,
		Finally:      Finally,
	}
}
