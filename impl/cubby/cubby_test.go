package cubby_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cubby"
	"github.com/insideout-go/insideout/impl/cubby/cubbytest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
	"golang.org/x/sys/unix"
)

type pair = cubbytest.Pair

func pr(a, b uint64) pair { return pair{A: a, B: b} }

// subjects are the cubbies the contract tests run on: impl/cubby's, and
// Peterson with no bug, a second implementation that shows the tests do
// not lean on impl/cubby's details.
var subjects = map[string]func() spec.Cubby[pair]{
	"impl/cubby":     cubbytest.NewCubby,
	"peterson":       func() spec.Cubby[pair] { return cubbytest.Peterson(cubbytest.Correct) },
	"update-keeps-v": func() spec.Cubby[pair] { return cubbytest.Peterson(cubbytest.UpdateKeepsVersion) },
}

// sequence runs one writer's and one reader's calls in turn on c, and
// returns the first that differs from spec.Cubby's sequential rules.
func sequence(c spec.Cubby[pair]) string {
	if v, n := c.Load(); v != (pair{}) || n != 0 {
		return "a new cubby does not hold the zero value at version 0"
	}
	if _, n, ok := c.TryLoad(0); ok || n != 0 {
		return "TryLoad(0) on a new cubby found something new"
	}
	c.Store(pr(1, 1))
	if v, n := c.Load(); v != (pr(1, 1)) || n != 1 {
		return "Load after Store(1, 1) is not (1, 1) at version 1"
	}
	if err := c.Update(func(p *pair) { p.B = 2 }); err != nil {
		return "Update: " + err.Error()
	}
	if v, n, ok := c.TryLoad(1); !ok || v != (pr(1, 2)) || n != 2 {
		return "TryLoad(1) after an Update did not find (1, 2) at version 2"
	}
	if _, n, ok := c.TryLoad(2); ok || n != 2 {
		return "TryLoad(2) at version 2 found something new"
	}
	var seen pair
	if n, err := c.View(func(p *pair) { seen = *p }); err != nil || n != 2 || seen != (pr(1, 2)) {
		return "View did not see (1, 2) at version 2"
	}
	if c.Update(nil) == nil {
		return "Update(nil) is not an error"
	}
	if _, err := c.View(nil); err == nil {
		return "View(nil) is not an error"
	}
	if _, n := c.Load(); n != 2 {
		return "Update(nil) counted a write"
	}
	return ""
}

// The bug: any call that breaks the sequential rules (a version not
// counted, TryLoad's answer wrong, a nil function taken). The control:
// Peterson with an Update that is not counted fails it.
func TestSequence(t *testing.T) {
	for name, newCubby := range subjects {
		why := sequence(newCubby())
		if bad := name == "update-keeps-v"; bad != (why != "") {
			t.Errorf("%s: %q", name, why)
		}
	}
	if !errors.Is(cubby.New[int]().Update(nil), cubby.ErrNilFunc) {
		t.Error("Update(nil) is not ErrNilFunc")
	}
}

// panics reports the panic of f, or "" if it returned.
func panics(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg, _ = r.(string)
			if msg == "" {
				msg = "a panic"
			}
		}
	}()
	f()
	return ""
}

// misuse makes two calls of one role overlap, each way spec.Cubby names:
// a Store from another goroutine while Update's function runs, a Store
// from inside it, and the reader's the same with View and Load. It
// returns the panics, in that order, and whether the cubby then still
// holds the last Update, counted.
func misuse(c spec.Cubby[pair]) (msgs []string, usable bool) {
	other := func(f func()) string {
		ch := make(chan string)
		go func() { ch <- panics(f) }()
		return <-ch
	}
	_ = c.Update(func(p *pair) { msgs = append(msgs, other(func() { c.Store(pr(9, 9)) })) })
	msgs = append(msgs, panics(func() { _ = c.Update(func(p *pair) { *p = pr(3, 3); c.Store(pr(9, 9)) }) }))
	_, _ = c.View(func(*pair) { msgs = append(msgs, other(func() { c.Load() })) })
	msgs = append(msgs, panics(func() { _, _ = c.View(func(*pair) { c.Load() }) }))
	v, n := c.Load()
	return msgs, v == (pr(3, 3)) && n == 2
}

// The bug: a second writer or reader let in beside the first, which
// tears the value for good (spec.Cubby: detected and refused, with a
// panic that names the error). The calls that panic leave the cubby
// usable. The control: Peterson, which does not look, lets every one in.
func TestSecondCallerOfARolePanics(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	msgs, usable := misuse(cubbytest.NewCubby())
	for i, m := range msgs {
		role := "one writer"
		if i >= 2 {
			role = "one reader"
		}
		if !strings.Contains(m, role) {
			t.Errorf("misuse %d: panic %q, want one that says %q", i, m, role)
		}
	}
	if len(msgs) != 4 || !usable {
		t.Errorf("%d panics, usable afterwards %v", len(msgs), usable)
	}
	msgs, _ = misuse(cubbytest.Peterson(cubbytest.Correct))
	if strings.Join(msgs, "") != "" {
		t.Fatalf("the control panicked: %q", msgs)
	}
}

// stopped runs f as the writer, inside an Update whose function waits
// until the returned function is called, which then waits for the Update
// to return.
func stopped(c spec.Cubby[pair], f func(p *pair)) (resume func()) {
	in, out, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Update(func(p *pair) { f(p); close(in); <-out })
	}()
	<-in
	return func() { close(out); <-done }
}

// tryBeside runs TryLoad(1), with nothing new, beside a writer stopped
// inside Update, and reports whether it returned within d.
func tryBeside(c spec.Cubby[pair], d time.Duration) bool {
	c.Store(pr(1, 1))
	resume := stopped(c, func(*pair) {})
	returned := make(chan struct{})
	go func() { c.TryLoad(1); close(returned) }()
	defer func() { resume(); <-returned }()
	select {
	case <-returned:
		return true
	case <-time.After(d):
		return false
	}
}

// The bug: a TryLoad that waits for the writer when nothing is new
// (spec.Cubby: it never waits then). The control: TryLoadWaits, which
// enters first, is still waiting after 100ms.
func TestTryLoadWithNothingNewDoesNotWait(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	if !tryBeside(cubbytest.NewCubby(), 10*time.Second) {
		t.Fatal("TryLoad with nothing new waited for the writer")
	}
	if tryBeside(cubbytest.Peterson(cubbytest.TryLoadWaits), 100*time.Millisecond) {
		t.Fatal("the control's TryLoad returned beside a writer inside Update")
	}
}

func cpuTime(t *testing.T) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// blockedCPU runs a Load and a Store blocked, one after the other, behind
// a writer and then a reader stopped in their critical sections for d
// each, and returns the CPU the process used meanwhile.
func blockedCPU(t *testing.T, c spec.Cubby[pair], d time.Duration) time.Duration {
	var used time.Duration
	resume := stopped(c, func(*pair) {})
	var wg sync.WaitGroup
	wg.Go(func() { c.Load() })
	time.Sleep(20 * time.Millisecond) // let it park
	before := cpuTime(t)
	time.Sleep(d)
	used += cpuTime(t) - before
	resume()
	wg.Wait()
	in, out := make(chan struct{}), make(chan struct{})
	wg.Go(func() { _, _ = c.View(func(*pair) { close(in); <-out }) })
	<-in
	wg.Go(func() { c.Store(pr(2, 2)) })
	time.Sleep(20 * time.Millisecond)
	before = cpuTime(t)
	time.Sleep(d)
	used += cpuTime(t) - before
	close(out)
	wg.Wait()
	return used
}

// The bug: a waiter that busy-waits instead of parking. A Load blocked
// behind an Update for 200ms, and a Store behind a View for as long, cost
// the process essentially no CPU. The control, Spins, burns a processor
// (less on a busy machine), and fails.
func TestBlockedCallsCostNoCPU(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const d, most = 200 * time.Millisecond, 40 * time.Millisecond
	used := blockedCPU(t, cubbytest.NewCubby(), d)
	t.Logf("CPU used in 2x%v with a blocked Load, then a blocked Store: %v", d, used)
	if used > most {
		t.Fatalf("blocked calls used %v of CPU in 2x%v; a parked one uses none", used, d)
	}
	// The spinner shares the machine's cores with the rest: it gets less
	// than all of one, but far more than the check allows.
	spun := blockedCPU(t, cubbytest.Peterson(cubbytest.Spins), d)
	t.Logf("the spinning control: %v", spun)
	if spun <= most {
		t.Fatalf("the spinning control used only %v, and passed the check", spun)
	}
}
