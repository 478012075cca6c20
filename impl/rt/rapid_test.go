package rt_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
	"pgregory.net/rapid"

	"github.com/insideout-go/insideout/internal/rapidcheck"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The property-based state-machine tests of runtimes. Each rapid case
// drives real runtimes with a random sequence of operations and, after
// each, waits (with a deadline) until they have settled where an
// independent model says they must: model.RuntimeRef for one runtime, a
// graph in a map for linked runtimes. Nothing here asserts a timing: a
// deadline only bounds how long a runtime may take to get where it must.

// settleWithin bounds how long a model's state may take to show.
const settleWithin = rapidcheck.SettleWithin

// stillFor is how long the step counter of a runtime that must not step
// is watched. A check over such an interval can miss a stray step, never
// invent one.
const stillFor = 200 * time.Microsecond

// rapidCounter returns a continuation that counts its steps forever. A
// busy one yields the processor in each step (so that control operations
// get a look in); a blocking one waits in every step until the step's context ends,
// so that it reaches its cooperative point only through Halt, Freeze,
// Interrupt, Cancel or Eject ending that context.
func rapidCounter(n *atomic.Int64, blocking bool) *cont.C {
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		n.Add(1)
		if blocking {
			<-ctx.Done()
		} else {
			runtime.Gosched()
		}
		return c.Next()
	})
}

// rtMachine is the state of TestRuntimeStateMachine: a real runtime
// running a counting continuation, and the reference runtime.
type rtMachine struct {
	r        *rt.Runtime
	c        *cont.C // the continuation spawned, which Eject must return
	n        atomic.Int64
	blocking bool
	ref      model.RuntimeRef
	// mask: flags that RuntimeRef reports but the spawn options turn off
	// (SkipPolling: Polling; DenyCancels: Cancels). RuntimeRef models a
	// runtime spawned with neither; these options change nothing else but
	// Cancel, which DenyCancels refuses.
	mask        spec.RuntimeFlags
	denyCancels bool
	ops         rapidcheck.OpLog
}

func (m *rtMachine) want() spec.RuntimeFlags { return m.ref.Flags() &^ m.mask }

func (m *rtMachine) fatalf(t *rapid.T, format string, args ...any) {
	t.Helper()
	t.Fatalf("%s\n\toperations: %v", fmt.Sprintf(format, args...), m.ops)
}

// TestRuntimeStateMachine drives one runtime and model.RuntimeRef with the
// same random operations.
//
// Spawn options: StartFrozen, SkipPolling, DenyCancels, OSThread and a
// busy or a blocking counter are drawn per case. RuntimeRef has no
// StartFrozen of its own: it models a runtime spawned running. A runtime
// started frozen is modelled as RuntimeRef after one accepted Freeze,
// which is the same state (frozen, not halted, not ejected), and the
// first invariant check then also says that Spawn returned a runtime
// already frozen and asleep.
func TestRuntimeStateMachine(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(t *rapid.T) {
		m := newRtMachine(t)
		t.Repeat(map[string]func(*rapid.T){
			"Halt":      m.Halt,
			"Freeze":    m.Freeze,
			"Thaw":      m.Thaw,
			"Cancel":    m.Cancel,
			"Interrupt": m.Interrupt,
			"Eject":     m.Eject,
			"Flags":     m.Flags,
			"Join":      m.Join,
			"":          m.Check,
		})
	})
}

// newRtMachine draws the spawn options and the counter of a case, spawns
// the runtime, and makes the case halt and join it at the end.
func newRtMachine(t *rapid.T) *rtMachine {
	m := &rtMachine{blocking: rapid.Bool().Draw(t, "blocking")}
	var opts []rt.Option
	var desc []string
	if rapid.Bool().Draw(t, "startFrozen") {
		opts = append(opts, rt.StartFrozen())
		desc = append(desc, "StartFrozen")
		m.ref.Freeze()
	}
	if rapid.Bool().Draw(t, "skipPolling") {
		opts = append(opts, rt.SkipPolling())
		desc = append(desc, "SkipPolling")
		m.mask |= spec.RtPolling
	}
	if rapid.Bool().Draw(t, "denyCancels") {
		opts = append(opts, rt.DenyCancels())
		desc = append(desc, "DenyCancels")
		m.mask |= spec.RtCancels
		m.denyCancels = true
	}
	if rapid.IntRange(0, 3).Draw(t, "osThread") == 0 {
		opts = append(opts, rt.OSThread())
		desc = append(desc, "OSThread")
	}
	m.c = rapidCounter(&m.n, m.blocking)
	r, err := rt.Spawn(m.c, opts...)
	if err != nil {
		t.Fatalf("Spawn(%v): %v", desc, err)
	}
	m.r = r
	m.ops.Add("spawn(blocking=%v, %s)", m.blocking, strings.Join(desc, ","))
	t.Cleanup(func() {
		r.Halt()
		if !rapidcheck.Within(func() { r.Join() }) {
			t.Errorf("cleanup: the runtime did not end within %v after Halt (flags %v)\n\toperations: %v", settleWithin, r.Flags(), m.ops)
		}
	})
	return m
}

// Each bool-returning operation (Halt, Freeze, Thaw, Cancel) must report
// what the reference reports.

// Halt catches Halt reporting a change twice, or on a torn down runtime.
func (m *rtMachine) Halt(t *rapid.T) {
	got, want := m.r.Halt(), m.ref.Halt()
	m.ops.Add("halt→%v", got)
	if got != want {
		m.fatalf(t, "Halt() = %v, want %v", got, want)
	}
}

// Freeze catches Freeze accepted once halted or after Eject.
func (m *rtMachine) Freeze(t *rapid.T) {
	got, want := m.r.Freeze(), m.ref.Freeze()
	m.ops.Add("freeze→%v", got)
	if got != want {
		m.fatalf(t, "Freeze() = %v, want %v", got, want)
	}
}

// Thaw catches Thaw reporting a change when not frozen.
func (m *rtMachine) Thaw(t *rapid.T) {
	got, want := m.r.Thaw(), m.ref.Thaw()
	m.ops.Add("thaw→%v", got)
	if got != want {
		m.fatalf(t, "Thaw() = %v, want %v", got, want)
	}
}

// Cancel catches Cancel accepted twice, after teardown, or with
// DenyCancels.
func (m *rtMachine) Cancel(t *rapid.T) {
	got, want := m.r.Cancel(), false
	if !m.denyCancels {
		want = m.ref.Cancel()
	}
	m.ops.Add("cancel→%v", got)
	if got != want {
		m.fatalf(t, "Cancel() = %v, want %v", got, want)
	}
}

// Interrupt changes no flag. With a blocking counter it must reach the
// step asleep on its context: the counter moves if the runtime is
// stepping. Catches an Interrupt that ends no context, or ends one the
// step no longer waits on.
func (m *rtMachine) Interrupt(t *rapid.T) {
	at := m.n.Load()
	m.r.Interrupt()
	m.ops.Add("interrupt")
	if m.blocking && m.ref.Stepping() && !rapidcheck.WaitFor(func() bool { return m.n.Load() > at }) {
		m.fatalf(t, "Interrupt did not wake the step waiting on its context (counter stuck at %d, flags %v)", at, m.r.Flags())
	}
}

// Eject returns the very continuation spawned, or the error the reference
// says. Catches: an Eject that hangs (a blocking step never interrupted, a
// hand-over that never comes); an Eject that succeeds on a halted runtime
// or twice; one that returns some other continuation. The ejected
// continuation may then be run on a fresh runtime (respawn).
func (m *rtMachine) Eject(t *rapid.T) {
	var got *cont.C
	var err error
	if !rapidcheck.Within(func() { got, err = m.r.Eject() }) {
		m.ops.Add("eject→(stuck)")
		m.fatalf(t, "Eject did not return within %v (flags %v)", settleWithin, m.r.Flags())
	}
	want := m.ref.Eject()
	m.ops.Add("eject→%v", err)
	switch {
	case want == nil && (err != nil || got != m.c):
		m.fatalf(t, "Eject() = %p, %v; want the spawned continuation %p", got, err, m.c)
	case want != nil && (!errors.Is(err, want) || got != nil):
		m.fatalf(t, "Eject() = %p, %v; want %v", got, err, want)
	}
	if want != nil || !rapid.Bool().Draw(t, "respawn") {
		return
	}
	m.respawn(t, got)
}

// respawn runs the ejected continuation c on a fresh runtime, which must
// step it: catches an Eject that hands out a continuation left finished or
// broken.
func (m *rtMachine) respawn(t *rapid.T, c *cont.C) {
	at := m.n.Load() // before Spawn: its first step may come before Spawn returns
	r2, err := rt.Spawn(c, rt.Name("respawned"))
	if err != nil {
		m.fatalf(t, "Spawn of the ejected continuation: %v", err)
	}
	t.Cleanup(func() { r2.Halt(); rapidcheck.Within(func() { r2.Join() }) })
	if !rapidcheck.WaitFor(func() bool { return m.n.Load() > at }) {
		m.fatalf(t, "the ejected continuation runs no step on a fresh runtime (flags %v)", r2.Flags())
	}
	r2.Halt()
	var err2 error
	if !rapidcheck.Within(func() { err2 = r2.Join() }) || err2 != nil {
		m.fatalf(t, "the fresh runtime of the ejected continuation: Join = %v after Halt", err2)
	}
	m.ops.Add("respawn-ran")
}

// Flags: once settled, the flags stay put. Catches a runtime that settles
// and then drifts (a frozen one that wakes, a dead one that changes its
// flags), which the invariant alone, reading until they match, could
// pass.
func (m *rtMachine) Flags(t *rapid.T) {
	want := m.want()
	f1 := m.r.Flags()
	rapidcheck.Pause(stillFor)
	f2 := m.r.Flags()
	m.ops.Add("flags→%v", f2)
	if f1 != want || f2 != want {
		m.fatalf(t, "settled flags moved: %v then %v, want %v", f1, f2, want)
	}
}

// Join returns once Dead, with the error the reference says (nil after a
// Halt or a thawed Eject, ErrCanceled after Cancel), and Err agrees.
// Before Dead it must not return. Catches a wrong final error (a Cancel
// reported as nil, a Halt reported as ErrCanceled), a Join that hangs on a
// dead runtime, and a Join that returns before the runtime is dead.
func (m *rtMachine) Join(t *rapid.T) {
	if !m.ref.Dead() {
		ctx, cancel := context.WithTimeout(context.Background(), stillFor)
		defer cancel()
		err := m.r.JoinContext(ctx)
		m.ops.Add("join(live)→%v", err)
		if !errors.Is(err, context.DeadlineExceeded) {
			m.fatalf(t, "Join on a runtime that must not be dead returned %v (flags %v)", err, m.r.Flags())
		}
		return
	}
	var err error
	if !rapidcheck.Within(func() { err = m.r.Join() }) {
		m.fatalf(t, "Join did not return within %v on a runtime whose flags say Dead", settleWithin)
	}
	want := m.ref.Join()
	m.ops.Add("join→%v", err)
	if !errors.Is(err, want) || (err == nil) != (want == nil) {
		m.fatalf(t, "Join() = %v, want %v", err, want)
	}
	if e := m.r.Err(); e != err {
		m.fatalf(t, "Err() = %v after Join() = %v", e, err)
	}
}

// Check is the invariant, after every operation: the real flags reach the
// reference's within the deadline. Catches every way a runtime settles
// where it should not: Halted not kept after teardown, a halted or
// canceled runtime that never tears down (frozen ones included), a Freeze
// that never turns Running off, a Thaw that does not resume, an ejected
// runtime that tears down without a Thaw or does not once thawed, Boot
// left on, options lost.
//
// Then the counter: once the flags say the runtime is frozen and asleep,
// or torn down, it must not step (catches a runtime that runs one more
// step after Freeze or Eject, or one that runs the continuation an Eject
// handed out); while it must step, a busy counter must move (catches a
// runtime whose flags say Running but which runs nothing).
func (m *rtMachine) Check(t *rapid.T) {
	want := m.want()
	if !rapidcheck.WaitFor(func() bool { return m.r.Flags() == want }) {
		m.fatalf(t, "flags %v, want %v within %v", m.r.Flags(), want, settleWithin)
	}
	if !m.ref.Stepping() {
		at := m.n.Load()
		rapidcheck.Pause(stillFor)
		if got := m.n.Load(); got != at {
			m.fatalf(t, "a runtime that must not step ran %d steps (flags %v)", got-at, m.r.Flags())
		}
	} else if !m.blocking {
		at := m.n.Load()
		if !rapidcheck.WaitFor(func() bool { return m.n.Load() > at }) {
			m.fatalf(t, "a running runtime runs no step (flags %v)", m.r.Flags())
		}
	}
}
