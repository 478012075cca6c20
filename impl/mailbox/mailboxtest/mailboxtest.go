// Package mailboxtest checks implementations of spec.Mailbox[int] and of
// the void mailbox, such as impl/mailbox's: the linearizability scenarios,
// with their release and lost-wake-up check, that `insideout verify`, the
// tests, the stress suites and the fuzz targets run.
package mailboxtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// Mailbox is the system under test of the mailbox scenarios.
type Mailbox = spec.Mailbox[int]

// mbRecvOutput maps a blocking receive's results to the model's output.
func mbRecvOutput(v *int, err error) model.MailboxOutput {
	switch {
	case err == nil:
		return model.MailboxOutput{Result: spec.Received, Value: *v}
	case errors.Is(err, spec.ErrUnreadable):
		return model.MailboxOutput{Result: spec.Unreadable}
	case errors.Is(err, spec.ErrInterrupted):
		return model.MailboxOutput{Result: spec.Interrupted}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return model.MailboxOutput{Canceled: true}
	}
	panic(fmt.Sprintf("recv: unexpected error %v", err))
}

// mbSendOutput maps a blocking send's error to the model's output.
func mbSendOutput(err error) model.MailboxOutput {
	switch {
	case err == nil:
		return model.MailboxOutput{Result: spec.Delivered}
	case errors.Is(err, spec.ErrUnwritable):
		return model.MailboxOutput{Result: spec.Unwritable}
	case errors.Is(err, spec.ErrNil):
		return model.MailboxOutput{Result: spec.Nil}
	case errors.Is(err, spec.ErrInterrupted):
		return model.MailboxOutput{Result: spec.Interrupted}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return model.MailboxOutput{Canceled: true}
	}
	panic(fmt.Sprintf("send: unexpected error %v", err))
}

func item(v int) *int {
	if v == 0 {
		return nil
	}
	return &v
}

// ctxTimeout is how long the context forms of Send and Recv wait.
const ctxTimeout = 2 * time.Millisecond

func mbIn(op model.MailboxOp) func(*linearize.Gen) model.MailboxInput {
	return func(*linearize.Gen) model.MailboxInput { return model.MailboxInput{Op: op} }
}

// Ops are the operations of a spec.Mailbox[int] scenario: every
// operation of the contract, the sends with distinct values (now and then
// nil), weighted so that items flow while pauses, interrupts, capacity
// changes and, rarely, closes race with them. The Try forms (trySend,
// tryRecv, trySendMany, tryRecvMany), which never wait for room, an item
// or a resume, are LockFree: Scenario.CheckProgress holds a mailbox to
// that claim.
func Ops() []linearize.Op[Mailbox, model.MailboxInput, model.MailboxOutput] {
	sendIn := func(op model.MailboxOp) func(*linearize.Gen) model.MailboxInput {
		return func(g *linearize.Gen) model.MailboxInput {
			v := g.Unique()
			if g.Intn(25) == 0 {
				v = 0 // nil
			}
			return model.MailboxInput{Op: op, Value: v}
		}
	}
	ops := []linearize.Op[Mailbox, model.MailboxInput, model.MailboxOutput]{
		{Name: "trySend", Weight: 12, LockFree: true, Input: sendIn(model.MbTrySend),
			Run: func(m Mailbox, in model.MailboxInput) model.MailboxOutput {
				return model.MailboxOutput{Result: m.TrySend(item(in.Value))}
			}},
		{Name: "send", Weight: 8, Input: sendIn(model.MbSend),
			Run: func(m Mailbox, in model.MailboxInput) model.MailboxOutput {
				return mbSendOutput(m.Send(item(in.Value)))
			}},
		{Name: "sendContext", Weight: 2, Input: sendIn(model.MbSend),
			Run: func(m Mailbox, in model.MailboxInput) model.MailboxOutput {
				ctx, cancel := seam.WithTimeout(context.Background(), ctxTimeout)
				defer cancel()
				return mbSendOutput(m.SendContext(ctx, item(in.Value)))
			}},
		{Name: "tryRecv", Weight: 12, LockFree: true, Input: mbIn(model.MbTryRecv),
			Run: func(m Mailbox, _ model.MailboxInput) model.MailboxOutput {
				v, r := m.TryRecv()
				out := model.MailboxOutput{Result: r}
				if v != nil {
					out.Value = *v
				}
				return out
			}},
		{Name: "recv", Weight: 8, Input: mbIn(model.MbRecv),
			Run: func(m Mailbox, _ model.MailboxInput) model.MailboxOutput { return mbRecvOutput(m.Recv()) }},
		{Name: "recvContext", Weight: 2, Input: mbIn(model.MbRecv),
			Run: func(m Mailbox, _ model.MailboxInput) model.MailboxOutput {
				ctx, cancel := seam.WithTimeout(context.Background(), ctxTimeout)
				defer cancel()
				return mbRecvOutput(m.RecvContext(ctx))
			}},
		{Name: "trySendMany", Weight: 4, LockFree: true,
			Input: func(g *linearize.Gen) model.MailboxInput {
				vs := make([]int, 1+g.Intn(3))
				for i := range vs {
					vs[i] = g.Unique()
				}
				if g.Intn(25) == 0 {
					vs[g.Intn(len(vs))] = 0 // nil
				}
				return model.MailboxInput{Op: model.MbTrySendMany, Values: vs}
			},
			Run: func(m Mailbox, in model.MailboxInput) model.MailboxOutput {
				vs := in.Values
				ps := make([]*int, len(vs))
				for i, v := range vs {
					ps[i] = item(v)
				}
				n, r := m.TrySendMany(ps)
				return model.MailboxOutput{Result: r, N: n}
			}},
		{Name: "tryRecvMany", Weight: 4, LockFree: true,
			Input: func(g *linearize.Gen) model.MailboxInput {
				return model.MailboxInput{Op: model.MbTryRecvMany, N: 1 + g.Intn(3)}
			},
			Run: func(m Mailbox, in model.MailboxInput) model.MailboxOutput {
				dst := make([]*int, in.N)
				n, r := m.TryRecvMany(dst)
				out := model.MailboxOutput{Result: r}
				for _, p := range dst[:n] {
					out.Values = append(out.Values, *p)
				}
				return out
			}},
		{Name: "len", Weight: 2, Input: mbIn(model.MbLen),
			Run: func(m Mailbox, _ model.MailboxInput) model.MailboxOutput { return model.MailboxOutput{N: m.Len()} }},
		{Name: "cap", Weight: 1, Input: mbIn(model.MbCap),
			Run: func(m Mailbox, _ model.MailboxInput) model.MailboxOutput { return model.MailboxOutput{N: m.Cap()} }},
		{Name: "setCap", Weight: 2,
			Input: func(g *linearize.Gen) model.MailboxInput {
				n := []int{0, 1, 2, 3, spec.Unbounded}[g.Intn(5)]
				return model.MailboxInput{Op: model.MbSetCap, N: n}
			},
			Run: func(m Mailbox, in model.MailboxInput) model.MailboxOutput {
				m.SetCap(in.N)
				return model.MailboxOutput{}
			}},
		{Name: "clear", Weight: 1, Input: mbIn(model.MbClear),
			Run: func(m Mailbox, _ model.MailboxInput) model.MailboxOutput { return model.MailboxOutput{N: m.Clear()} }},
		{Name: "drain", Weight: 1, Input: mbIn(model.MbDrain),
			Run: func(m Mailbox, _ model.MailboxInput) model.MailboxOutput { return drain(m) }},
	}
	return append(ops, gateOps[Mailbox](gateWeights{pause: 3, resume: 4, interrupt: 3, waitPush: 2, waitPop: 2})...)
}

func drain(m Mailbox) model.MailboxOutput {
	var vs []int
	for _, p := range m.Drain() {
		vs = append(vs, *p)
	}
	return model.MailboxOutput{Values: vs}
}

// Stuck reports a call that is asleep although the mailbox's flags
// would let it proceed: a Recv beside a queued item, a Send beside room,
// a Wait whose condition holds. Paused mailboxes hold everyone, rightly.
func Stuck(m Mailbox, inProgress []model.MailboxInput) string {
	f := m.Flags()
	if f&spec.FlagPaused != 0 {
		return ""
	}
	var stuck []string
	for _, in := range inProgress {
		var could bool
		switch in.Op {
		case model.MbRecv, model.MbWaitPoppable:
			could = f&spec.FlagEmpty == 0 || f&spec.FlagReadable == 0
		case model.MbSend, model.MbWaitPushable:
			could = in.Value != 0 && (f&spec.FlagFull == 0 || f&spec.FlagWritable == 0)
		case model.MbWaitEmpty:
			could = f&spec.FlagEmpty != 0
		case model.MbWaitFull:
			could = f&spec.FlagFull != 0
		}
		if could {
			stuck = append(stuck, model.DescribeMailboxOp(in, nil))
		}
	}
	if len(stuck) == 0 {
		return ""
	}
	return fmt.Sprintf("%s asleep with the mailbox %v (len %d)", strings.Join(stuck, ", "), f, m.Len())
}

// Release ends the waits of a round: it resumes the mailbox,
// closes it at both ends, and interrupts every sleeper left (Wait calls
// that closing does not free), recording each call.
func Release(m Mailbox, c linearize.Caller[model.MailboxInput, model.MailboxOutput]) {
	c.Do(model.MailboxInput{Op: model.MbResume}, func() model.MailboxOutput { return model.MailboxOutput{Bool: m.Resume()} })
	c.Do(model.MailboxInput{Op: model.MbCloseWrite}, func() model.MailboxOutput { return model.MailboxOutput{Bool: m.CloseWrite()} })
	c.Do(model.MailboxInput{Op: model.MbCloseRead}, func() model.MailboxOutput { return model.MailboxOutput{Bool: m.CloseRead()} })
	const all = 64
	c.Do(model.MailboxInput{Op: model.MbInterrupt, N: all}, func() model.MailboxOutput { return model.MailboxOutput{N: m.Interrupt(all)} })
}

// Finally records, once everything has returned, the length and
// a drain: every item still counted must come out, in order.
func Finally(m Mailbox, c linearize.Caller[model.MailboxInput, model.MailboxOutput]) {
	c.Do(model.MailboxInput{Op: model.MbLen}, func() model.MailboxOutput { return model.MailboxOutput{N: m.Len()} })
	c.Do(model.MailboxInput{Op: model.MbFlags}, func() model.MailboxOutput { return model.MailboxOutput{Flags: m.Flags()} })
	c.Do(model.MailboxInput{Op: model.MbDrain}, func() model.MailboxOutput { return drain(m) })
}

// Scenario returns the linearizability scenario for any
// spec.Mailbox[int] that newMailbox builds with capacity capacity: clients
// call every operation concurrently; the round ends with
// Release, a liveness check (Stuck) before it, and
// Finally after.
func Scenario(name string, capacity int, newMailbox func(capacity int) Mailbox) linearize.Scenario[Mailbox, model.MailboxInput, model.MailboxOutput] {
	return linearize.Scenario[Mailbox, model.MailboxInput, model.MailboxOutput]{
		Name:         name,
		Model:        linearize.Porcupine[model.MailboxInput, model.MailboxOutput](model.Mailbox(capacity)),
		New:          func() Mailbox { return newMailbox(capacity) },
		Ops:          Ops(),
		Clients:      3,
		OpsPerClient: 6,
		Release:      Release,
		Stuck:        Stuck,
		Finally:      Finally,
	}
}

// NewMailbox builds the mailbox of impl/mailbox as a spec.Mailbox[int].
func NewMailbox(capacity int) Mailbox { return mailbox.New[int](capacity) }

// Void is the system under test of the void-mailbox scenario: the part of
// spec.Mailbox a mailbox without items has.
type Void interface {
	Pause() bool
	Resume() bool
	CloseWrite() bool
	CloseRead() bool
	Interrupt(n int) int
	WaitPushable() bool
	WaitPoppable() bool
	WaitEmpty()
	WaitFull()
	Flags() spec.Flags
}

// gateWeights are the weights of the operations every mailbox has,
// void or not; each not given is 1.
type gateWeights struct{ pause, resume, interrupt, waitPush, waitPop int }

// gateOps returns the operations every mailbox has: pause, resume, the
// closes, interrupt, the Wait calls and flags, for any system S that has
// them (a Mailbox, or a Void).
func gateOps[S Void](w gateWeights) []linearize.Op[S, model.MailboxInput, model.MailboxOutput] {
	in := func(op model.MailboxOp) func(*linearize.Gen) model.MailboxInput {
		return func(*linearize.Gen) model.MailboxInput { return model.MailboxInput{Op: op} }
	}
	return []linearize.Op[S, model.MailboxInput, model.MailboxOutput]{
		{Name: "pause", Weight: w.pause, Input: in(model.MbPause),
			Run: func(v S, _ model.MailboxInput) model.MailboxOutput { return model.MailboxOutput{Bool: v.Pause()} }},
		{Name: "resume", Weight: w.resume, Input: in(model.MbResume),
			Run: func(v S, _ model.MailboxInput) model.MailboxOutput { return model.MailboxOutput{Bool: v.Resume()} }},
		{Name: "closeWrite", Weight: 1, Input: in(model.MbCloseWrite),
			Run: func(v S, _ model.MailboxInput) model.MailboxOutput { return model.MailboxOutput{Bool: v.CloseWrite()} }},
		{Name: "closeRead", Weight: 1, Input: in(model.MbCloseRead),
			Run: func(v S, _ model.MailboxInput) model.MailboxOutput { return model.MailboxOutput{Bool: v.CloseRead()} }},
		{Name: "interrupt", Weight: w.interrupt,
			Input: func(g *linearize.Gen) model.MailboxInput {
				return model.MailboxInput{Op: model.MbInterrupt, N: g.Intn(3)}
			},
			Run: func(v S, in model.MailboxInput) model.MailboxOutput { return model.MailboxOutput{N: v.Interrupt(in.N)} }},
		{Name: "waitPushable", Weight: w.waitPush, Input: in(model.MbWaitPushable),
			Run: func(v S, _ model.MailboxInput) model.MailboxOutput {
				return model.MailboxOutput{Bool: v.WaitPushable()}
			}},
		{Name: "waitPoppable", Weight: w.waitPop, Input: in(model.MbWaitPoppable),
			Run: func(v S, _ model.MailboxInput) model.MailboxOutput {
				return model.MailboxOutput{Bool: v.WaitPoppable()}
			}},
		{Name: "waitEmpty", Weight: 1, Input: in(model.MbWaitEmpty),
			Run: func(v S, _ model.MailboxInput) model.MailboxOutput { v.WaitEmpty(); return model.MailboxOutput{} }},
		{Name: "waitFull", Weight: 1, Input: in(model.MbWaitFull),
			Run: func(v S, _ model.MailboxInput) model.MailboxOutput { v.WaitFull(); return model.MailboxOutput{} }},
		{Name: "flags", Weight: 2, Input: in(model.MbFlags),
			Run: func(v S, _ model.MailboxInput) model.MailboxOutput { return model.MailboxOutput{Flags: v.Flags()} }},
	}
}

// VoidOps are the operations of the void-mailbox scenario: the gate
// opened and closed while goroutines wait at it.
func VoidOps() []linearize.Op[Void, model.MailboxInput, model.MailboxOutput] {
	return gateOps[Void](gateWeights{pause: 3, resume: 3, interrupt: 2, waitPush: 4, waitPop: 4})
}

// VoidScenario returns the scenario of a void mailbox built by newVoid:
// waits at the gate race with pauses, resumes, closes and interrupts; a
// wait asleep at an open gate is a lost wake-up.
func VoidScenario(name string, newVoid func() Void) linearize.Scenario[Void, model.MailboxInput, model.MailboxOutput] {
	return linearize.Scenario[Void, model.MailboxInput, model.MailboxOutput]{
		Name:         name,
		Model:        linearize.Porcupine[model.MailboxInput, model.MailboxOutput](model.VoidMailbox()),
		New:          newVoid,
		Ops:          VoidOps(),
		Clients:      4,
		OpsPerClient: 6,
		Stuck: func(v Void, inProgress []model.MailboxInput) string {
			if f := v.Flags(); f&spec.FlagPaused == 0 && len(inProgress) > 0 {
				return fmt.Sprintf("%d wait(s) asleep at an open gate (%v)", len(inProgress), f)
			}
			return ""
		},
		Release: func(v Void, c linearize.Caller[model.MailboxInput, model.MailboxOutput]) {
			c.Do(model.MailboxInput{Op: model.MbResume}, func() model.MailboxOutput { return model.MailboxOutput{Bool: v.Resume()} })
			const all = 64
			c.Do(model.MailboxInput{Op: model.MbInterrupt, N: all}, func() model.MailboxOutput { return model.MailboxOutput{N: v.Interrupt(all)} })
		},
	}
}

// NewVoid builds the void mailbox of impl/mailbox.
func NewVoid() Void { return mailbox.NewVoid() }
