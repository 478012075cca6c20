package rt_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/spec"
	"pgregory.net/rapid"

	"github.com/insideout-go/insideout/internal/rapidcheck"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The links state machine.

// boomValue is what the step of linked runtime i panics with, so that the
// cause of a cascade can be traced back to the runtime that failed.
type boomValue struct{ id int }

// cause is how a runtime of the links machine ended, in the model.
type cause uint8

const (
	causeNone           cause = iota // halted (by Halt or by a peer's clean teardown): Join nil
	causePanic                       // its step panicked: ErrPanicked
	causeCanceled                    // canceled: ErrCanceled
	causeLinkedPanic                 // halted by a peer whose failure was a panic
	causeLinkedCanceled              // halted by a peer whose failure was a Cancel
)

type linkNode struct {
	r    *rt.Runtime
	boom *atomic.Bool // the next step panics
	// The model.
	frozen, dead  bool
	linkedAtDeath bool  // Linked stays as it was at teardown
	cause         cause // once dead
	origin        int   // once dead with a failure: the runtime that failed first
}

type linkMachine struct {
	count   int // the runtimes' slots
	nodes   []*linkNode
	retired []*rt.Runtime   // dead runtimes whose slot a new one took
	edges   map[[2]int]bool // the model's link graph, keys ordered (lo, hi)
	ops     rapidcheck.OpLog
}

func edge(i, j int) [2]int {
	if i > j {
		i, j = j, i
	}
	return [2]int{i, j}
}

func (m *linkMachine) degree(i int) int {
	d := 0
	for e := range m.edges {
		if e[0] == i || e[1] == i {
			d++
		}
	}
	return d
}

// pickWhere draws a runtime for which ok holds, and skips the action if
// there is none.
func (m *linkMachine) pickWhere(t *rapid.T, ok func(*linkNode) bool, none string) int {
	var is []int
	for i, n := range m.nodes {
		if ok(n) {
			is = append(is, i)
		}
	}
	if len(is) == 0 {
		t.Skip(none)
	}
	return rapid.SampledFrom(is).Draw(t, "i")
}

func (m *linkMachine) fatalf(t *rapid.T, format string, args ...any) {
	t.Helper()
	t.Fatalf("%s\n\toperations: %v", fmt.Sprintf(format, args...), m.ops)
}

// tearDown is the model of a teardown starting at runtime i, which ends
// with c: every runtime reachable from i through links is halted, the
// whole connected component, and tears down in turn; each peer of a
// failure reports a linked failure tracing back to i, each peer of a
// clean teardown nothing. Links are kept through teardown.
func (m *linkMachine) tearDown(i int, c cause) {
	linked := map[cause]cause{causeNone: causeNone, causePanic: causeLinkedPanic, causeCanceled: causeLinkedCanceled}[c]
	seen := map[int]bool{i: true}
	queue := []int{i}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		n := m.nodes[k]
		n.dead, n.frozen, n.linkedAtDeath, n.origin = true, false, m.degree(k) > 0, i
		n.cause = linked
		if k == i {
			n.cause = c
		}
		for e := range m.edges {
			for _, p := range []int{e[0], e[1]} {
				if (e[0] == k || e[1] == k) && !seen[p] {
					seen[p] = true
					queue = append(queue, p)
				}
			}
		}
	}
}

// wantFlags is the settled flags of node i by the model.
func (m *linkMachine) wantFlags(i int) spec.RuntimeFlags {
	n := m.nodes[i]
	f := spec.RtCancels
	switch {
	case n.dead:
		f |= spec.RtHalted | spec.RtTeardown | spec.RtDead
		if n.linkedAtDeath {
			f |= spec.RtLinked
		}
		return f
	case n.frozen:
		f |= spec.RtFrozen | spec.RtPolling
	default:
		f |= spec.RtRunning | spec.RtPolling
	}
	if m.degree(i) > 0 {
		f |= spec.RtLinked
	}
	return f
}

// checkErr checks the error of dead node i against the model's cause.
func (m *linkMachine) checkErr(i int, err error) string {
	n := m.nodes[i]
	linked := errors.Is(err, spec.ErrLinkedFailure)
	var pe *rt.PanicError
	fromOrigin := errors.As(err, &pe) && pe.Value == boomValue{n.origin}
	switch n.cause {
	case causeNone:
		if err != nil {
			return "want nil"
		}
	case causePanic:
		if !errors.Is(err, spec.ErrPanicked) || linked || !fromOrigin {
			return fmt.Sprintf("want its own panic (ErrPanicked, value %v)", boomValue{n.origin})
		}
	case causeCanceled:
		if !errors.Is(err, spec.ErrCanceled) || linked {
			return "want ErrCanceled"
		}
	case causeLinkedPanic:
		if !linked || !errors.Is(err, spec.ErrPanicked) || !fromOrigin {
			return fmt.Sprintf("want ErrLinkedFailure wrapping the panic of runtime %d", n.origin)
		}
	case causeLinkedCanceled:
		if !linked || !errors.Is(err, spec.ErrCanceled) {
			return fmt.Sprintf("want ErrLinkedFailure wrapping the ErrCanceled of runtime %d", n.origin)
		}
	}
	return ""
}

// TestRuntimeLinksStateMachine drives a handful of runtimes, some started
// frozen, some spawned linked to an earlier one, with random Link, Unlink,
// Halt, Cancel, Freeze, Thaw and a step that panics on demand, and checks
// them against a graph of links in a map.
//
// Link to a torn-down runtime: spec.Runtime does not say what it returns
// (Link is not even in the interface); impl/rt documents
// spec.ErrTornDown, and this test holds it to that.
//
// A Cancel counts as a failure for links (peers report ErrLinkedFailure
// wrapping ErrCanceled), as impl/rt does it; the spec speaks only of "a
// linked runtime's failure".
func TestRuntimeLinksStateMachine(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(t *rapid.T) {
		m := newLinkMachine(t)
		t.Repeat(map[string]func(*rapid.T){
			"Link":    m.Link,
			"Unlink":  m.Unlink,
			"Halt":    m.Halt,
			"Cancel":  m.Cancel,
			"Panic":   m.Panic,
			"Respawn": m.Respawn,
			"Freeze":  m.Freeze,
			"Thaw":    m.Thaw,
			"":        m.Check,
		})
	})
}

// newLinkMachine spawns the runtimes of a case, each maybe linked to an
// earlier one, and makes the case halt and join every runtime it spawned
// at the end.
func newLinkMachine(t *rapid.T) *linkMachine {
	m := &linkMachine{edges: map[[2]int]bool{}}
	m.count = rapid.IntRange(2, 5).Draw(t, "runtimes")
	t.Cleanup(func() {
		for _, n := range m.nodes {
			m.retired = append(m.retired, n.r)
		}
		for _, r := range m.retired {
			r.Halt()
			if !rapidcheck.Within(func() { r.Join() }) {
				t.Errorf("cleanup: runtime %v did not end within %v after Halt (flags %v)\n\toperations: %v", r, settleWithin, r.Flags(), m.ops)
			}
		}
	})
	for i := range m.count {
		to := -1
		if i > 0 {
			to = rapid.IntRange(-1, i-1).Draw(t, "linkTo")
		}
		m.spawn(t, i, to)
	}
	return m
}

// spawn starts runtime i, in a fresh slot or in place of a dead
// one, maybe frozen, maybe linked from its start to runtime to.
// Spawn linked to a torn-down runtime must fail with ErrTornDown
// and start nothing (catches a runtime started with a link that
// can never halt it, or one left running by the failed Spawn,
// which goleak would report).
func (m *linkMachine) spawn(t *rapid.T, i, to int) {
	n := &linkNode{boom: new(atomic.Bool)}
	boom := n.boom
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		if boom.Load() {
			panic(boomValue{i})
		}
		time.Sleep(10 * time.Microsecond)
		return c.Next()
	})
	opts := []rt.Option{rt.Name(fmt.Sprint("link-", i))}
	desc := ""
	if rapid.Bool().Draw(t, "startFrozen") {
		opts = append(opts, rt.StartFrozen())
		n.frozen = true
		desc += " frozen"
	}
	if to >= 0 {
		opts = append(opts, rt.LinkTo(m.nodes[to].r))
		desc += fmt.Sprint(" linked to ", to)
	}
	r, err := rt.Spawn(c, opts...)
	m.ops.Add("spawn %d%s→%v", i, desc, err)
	if to >= 0 && m.nodes[to].dead {
		if r != nil || !errors.Is(err, spec.ErrTornDown) {
			m.fatalf(t, "Spawn linked to dead runtime %d = %v, %v; want ErrTornDown", to, r, err)
		}
		return
	}
	if err != nil {
		m.fatalf(t, "Spawn of runtime %d: %v", i, err)
	}
	n.r = r
	if i == len(m.nodes) {
		m.nodes = append(m.nodes, n)
	} else {
		m.retired = append(m.retired, m.nodes[i].r)
		m.nodes[i] = n
		for e := range m.edges {
			if e[0] == i || e[1] == i {
				delete(m.edges, e) // the dead runtime's links; it is gone
			}
		}
	}
	if to >= 0 {
		m.edges[edge(i, to)] = true
	}
}

// pick draws any runtime of the case, dead or alive.
func (m *linkMachine) pick(t *rapid.T, label string) int {
	return rapid.IntRange(0, m.count-1).Draw(t, label)
}

// Link: ErrSelfLink for a runtime and itself, ErrTornDown when
// either has torn down, else linked both ways. Catches a
// self-link accepted (a runtime that would halt itself), a link
// to a dead runtime accepted (the live one would then never be
// halted by it), and a half-made link (Linked on one side
// only, caught by the flags).
func (m *linkMachine) Link(t *rapid.T) {
	i, j := m.pick(t, "i"), m.pick(t, "j")
	err := m.nodes[i].r.Link(m.nodes[j].r)
	m.ops.Add("link(%d,%d)→%v", i, j, err)
	var want error
	switch {
	case i == j:
		want = spec.ErrSelfLink
	case m.nodes[i].dead || m.nodes[j].dead:
		want = spec.ErrTornDown
	default:
		m.edges[edge(i, j)] = true
	}
	if !errors.Is(err, want) || (err == nil) != (want == nil) {
		m.fatalf(t, "Link(%d, %d) = %v, want %v", i, j, err, want)
	}
}

// Unlink undoes a link both ways: the former peers no longer
// halt each other (caught by the flags of the survivor when
// one of them later tears down), and Linked goes off once no
// link is left, except after teardown, where it stays.
func (m *linkMachine) Unlink(t *rapid.T) {
	i, j := m.pick(t, "i"), m.pick(t, "j")
	m.nodes[i].r.Unlink(m.nodes[j].r)
	m.ops.Add("unlink(%d,%d)", i, j)
	delete(m.edges, edge(i, j))
}

// Halt: a clean teardown that halts the whole linked
// component, each with a nil error. Catches a teardown that
// does not halt its peers, or halts them only one link deep,
// or reports a failure where there was none.
func (m *linkMachine) Halt(t *rapid.T) {
	i := m.pick(t, "i")
	got, want := m.nodes[i].r.Halt(), !m.nodes[i].dead
	m.ops.Add("halt(%d)→%v", i, got)
	if got != want {
		m.fatalf(t, "Halt() of runtime %d = %v, want %v", i, got, want)
	}
	if want {
		m.tearDown(i, causeNone)
	}
}

// Cancel: the runtime ends with ErrCanceled, its component
// with ErrLinkedFailure wrapping it.
func (m *linkMachine) Cancel(t *rapid.T) {
	i := m.pick(t, "i")
	got, want := m.nodes[i].r.Cancel(), !m.nodes[i].dead
	m.ops.Add("cancel(%d)→%v", i, got)
	if got != want {
		m.fatalf(t, "Cancel() of runtime %d = %v, want %v", i, got, want)
	}
	if want {
		m.tearDown(i, causeCanceled)
	}
}

// Panic: the next step of a running runtime panics: it ends with
// ErrPanicked carrying the value, and every runtime of its
// component, down chains of links and frozen ones included,
// with ErrLinkedFailure wrapping that very panic. Catches a
// panic that escapes (the test process dies), a failure not
// propagated, or propagated without its cause.
func (m *linkMachine) Panic(t *rapid.T) {
	i := m.pickWhere(t, func(n *linkNode) bool { return !n.dead && !n.frozen }, "only a running runtime runs the step that panics")
	m.nodes[i].boom.Store(true)
	m.ops.Add("panic(%d)", i)
	m.tearDown(i, causePanic)
}

// Respawn: a dead runtime's slot gets a new runtime, maybe linked to
// another (dead or alive), so that cases go on with live
// runtimes after cascades.
func (m *linkMachine) Respawn(t *rapid.T) {
	i := m.pickWhere(t, func(n *linkNode) bool { return n.dead }, "no runtime is dead")
	to := m.pick(t, "linkTo")
	if to == i {
		to = -1
	}
	m.spawn(t, i, to)
}

// Freeze is accepted by a live runtime not frozen already.
func (m *linkMachine) Freeze(t *rapid.T) {
	i := m.pick(t, "i")
	n := m.nodes[i]
	got, want := n.r.Freeze(), !n.dead && !n.frozen
	m.ops.Add("freeze(%d)→%v", i, got)
	if got != want {
		m.fatalf(t, "Freeze() of runtime %d = %v, want %v", i, got, want)
	}
	n.frozen = n.frozen || want
}

// Thaw is accepted by a live frozen runtime.
func (m *linkMachine) Thaw(t *rapid.T) {
	i := m.pick(t, "i")
	n := m.nodes[i]
	got, want := n.r.Thaw(), !n.dead && n.frozen
	m.ops.Add("thaw(%d)→%v", i, got)
	if got != want {
		m.fatalf(t, "Thaw() of runtime %d = %v, want %v", i, got, want)
	}
	n.frozen = false
}

// Check is the invariant: every runtime's flags reach the model's (a
// live one Running or Frozen and asleep, Linked exactly while
// it has a link; a dead one Halted|Teardown|Dead, Linked as it
// was at teardown), and every dead one's Join returns the error
// of its cause.
func (m *linkMachine) Check(t *rapid.T) {
	for i, n := range m.nodes {
		want := m.wantFlags(i)
		if !rapidcheck.WaitFor(func() bool { return n.r.Flags() == want }) {
			m.fatalf(t, "runtime %d: flags %v, want %v within %v", i, n.r.Flags(), want, settleWithin)
		}
		if !n.dead {
			continue
		}
		var err error
		if !rapidcheck.Within(func() { err = n.r.Join() }) {
			m.fatalf(t, "runtime %d: Join did not return though its flags say Dead", i)
		}
		if what := m.checkErr(i, err); what != "" {
			m.fatalf(t, "runtime %d: Join() = %v; %s", i, err, what)
		}
	}
}
