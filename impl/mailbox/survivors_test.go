package mailbox

import (
	"errors"
	"testing"
	"time"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Tests for two mutants that survived the mutation runner
// (docs/mutation.md): a waker's write to a sleeper's waiter moved after
// the Unpark that wakes it. Both are data races that the race detector
// reports on every such wake-up, as these tests make one; they pass
// without it. The controlled scheduler cannot show either: seam's Unpark
// passes its switch point before it leaves the permit, so the waker's
// next write lands before the woken call can run again (the mutants
// survive the sched steps for that reason), and in a free run the window
// is the few instructions after a channel send. So these tests are the
// kill only where they run under -race.

// recvAsleep starts a Recv on m and waits until it sleeps on its list;
// the Recv's outcome comes on the returned channel.
func recvAsleep(t *testing.T, m *Mailbox[int]) <-chan recvOutcome {
	t.Helper()
	got := make(chan recvOutcome, 1)
	go func() {
		v, err := m.Recv()
		got <- recvOutcome{v, err}
	}()
	waitSleepers(t, &m.core, recvKind, 1)
	return got
}

type recvOutcome struct {
	v   *int
	err error
}

func (o recvOutcome) String() string {
	if o.v == nil {
		return "nil, " + errString(o.err)
	}
	return "an item, " + errString(o.err)
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// awaitRecv returns the Recv's outcome, failing t if it has not come in
// 5 seconds.
func awaitRecv(t *testing.T, got <-chan recvOutcome) recvOutcome {
	t.Helper()
	select {
	case o := <-got:
		return o
	case <-time.After(5 * time.Second):
		t.Fatal("the Recv never returned")
		return recvOutcome{}
	}
}

// The rule: a Send that finds a Recv asleep in an open, empty mailbox
// hands it the item directly (handOff), and the pair takes effect at once:
// Send returns nil and that Recv returns the item. The waker writes the
// sleeper's result and item, then unparks it: the woken Recv reads them
// right after its Park.
//
// The bug it catches: blocking.go:Mailbox.handOff:store-late:1, the write
// of w.result and w.item moved after w.p.Unpark(). The woken Recv can then
// read result 0, try again, find the mailbox empty and sleep, and the
// item that Send reported delivered is lost. Under -race the write after
// the Unpark and the Recv's read after its Park are unordered, and the
// detector reports them on every hand-off; the test checks the outcome
// too, and that the item never touched a slot (the hand-off path ran).
func TestHandOffWritesBeforeWaking(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for range 20 {
		m := New[int](1)
		got := recvAsleep(t, m)
		x := 7
		if err := m.Send(&x); err != nil {
			t.Fatalf("Send to an open, empty mailbox with a Recv asleep: %v", err)
		}
		o := awaitRecv(t, got)
		if o.err != nil || o.v != &x {
			t.Fatalf("the Recv that Send handed its item to returned %v, want the item, nil", o)
		}
		if s := m.snapshot(); s.t&posMask != 0 || s.h&posMask != 0 {
			t.Fatalf("the item went through a slot (tail %d, head %d): the hand-off did not run", s.t&posMask, s.h&posMask)
		}
	}
}

// The rule: a sleeper that a state change wakes (core.signal, called by
// wakeAll and wakeWatchers under mu) is taken off its list and then
// unparked, with w.interrupted written before the Unpark: the woken call
// reads it right after its Park, without mu, and returns ErrInterrupted if
// it is set.
//
// The bug it catches: wait.go:core.signal:store-late:1, w.interrupted
// written after w.p.Unpark(). The woken Recv reads it while the waker
// writes it. signal is only ever called with interrupted false, and w's
// interrupted is already false (getWaiter cleared it, and Interrupt sets
// it only on a waiter it takes off a list under mu, which signal holds
// from its unlist until after the late write), so no outcome changes: the
// race detector, which reports the unordered write and read on every such
// wake-up, is what tells the mutant apart. Here CloseWrite wakes a Recv
// asleep in an empty mailbox (wakeAll), and a send wakes a WaitPoppable
// (wakeWatchers).
func TestSignalWritesBeforeWaking(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for range 20 {
		m := New[int](1)
		got := recvAsleep(t, m)
		if !m.CloseWrite() {
			t.Fatal("CloseWrite of an open mailbox reported it closed already")
		}
		if o := awaitRecv(t, got); o.v != nil || !errors.Is(o.err, ErrUnreadable) {
			t.Fatalf("a Recv asleep in an empty mailbox closed for writing returned %v, want nil, %v", o, ErrUnreadable)
		}

		m = New[int](1)
		woke := make(chan bool, 1)
		go func() { woke <- m.WaitPoppable() }()
		waitSleepers(t, &m.core, watchKind, 1)
		x := 1
		if r := m.TrySend(&x); r != Delivered {
			t.Fatalf("TrySend to an open, empty mailbox: %v", r)
		}
		select {
		case ok := <-woke:
			if !ok {
				t.Fatal("WaitPoppable woken by a delivery returned false")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a delivery did not wake WaitPoppable")
		}
	}
}
