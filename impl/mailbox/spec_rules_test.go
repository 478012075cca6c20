package mailbox

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// asleep waits until a call of kind k sleeps in m; false after 5s.
func asleep[T any](m *Mailbox[T], k kind) bool {
	for start := time.Now(); m.sleepers(k) == 0; runtime.Gosched() {
		if time.Since(start) > 5*time.Second {
			return false
		}
	}
	return true
}

// The rule (spec/mailbox.go, Mailbox, "Blocking operations"): "The context
// forms return the context's error instead if the context ends while they
// sleep", and every operation takes effect at one instant: so a call cut
// short by its context, with the context's error, has taken no effect. A
// RecvContext that returns the context's error received nothing (the item
// is still there for the next receipt); a SendContext that returns it
// sent nothing.
//
// The bug it catches: a sleeper whose context ends just as a waker does
// its operation for it (a Send's hand-off of an item to the longest
// sleeping Recv; a receipt's delivery of the longest sleeping Send's
// item) returns the context's error and drops what the waker did: the
// item received is lost, or the item delivered is reported not sent
// (knownbad.MailboxCutShortDrops). Each round ends the context first and
// has the waker come before the sleeper runs, so that the sleeper's park
// sees both; the test requires the known-bad caught, then the mailbox to
// pass.
func TestCutShortCallTookNoEffect(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []struct {
		name  string
		round func() error
	}{{"RecvContext", cutShortRecv}, {"SendContext", cutShortSend}} {
		t.Run(c.name, func(t *testing.T) {
			knownbad.MailboxCutShortDrops.Store(true)
			err := rounds(200, c.round)
			knownbad.MailboxCutShortDrops.Store(false)
			if err == nil {
				t.Fatal("knownbad.MailboxCutShortDrops went uncaught in 200 rounds")
			}
			t.Logf("the known-bad, caught: %v", err)
			if err := rounds(200, c.round); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// rounds runs round n times, and returns the first error.
func rounds(n int, round func() error) error {
	for i := range n {
		if err := round(); err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
	}
	return nil
}

// cutShortRecv ends the context of a RecvContext asleep in an empty
// mailbox, then sends an item, which a sleeping receiver is handed.
func cutShortRecv() error {
	m := New[int](1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type out struct {
		v   *int
		err error
	}
	done := make(chan out, 1)
	go func() { v, err := m.RecvContext(ctx); done <- out{v, err} }()
	if !asleep(m, recvKind) {
		return errors.New("RecvContext on an empty mailbox did not sleep within 5s")
	}
	item := new(int)
	cancel()
	if err := m.Send(item); err != nil {
		return fmt.Errorf("Send: %v", err)
	}
	var o out
	select {
	case o = <-done:
	case <-time.After(5 * time.Second):
		return errors.New("RecvContext still asleep 5s after its context ended")
	}
	rest, r := m.TryRecv()
	switch {
	case o.err == nil && o.v != item:
		return fmt.Errorf("RecvContext returned %p, not the item sent %p", o.v, item)
	case o.err == nil && r != Empty:
		return fmt.Errorf("RecvContext received the item and the mailbox still holds one (%v)", r)
	case o.err != nil && !errors.Is(o.err, context.Canceled):
		return fmt.Errorf("RecvContext: %v, want the item or context.Canceled", o.err)
	case o.err != nil && rest != item:
		return fmt.Errorf("RecvContext returned %q, so received nothing, yet the item Send delivered is gone (TryRecv: %v): lost to a call cut short", o.err, r)
	}
	return nil
}

// cutShortSend ends the context of a SendContext asleep in a full
// mailbox, then receives, which delivers a sleeping sender's item.
func cutShortSend() error {
	m := New[int](1)
	first, item := new(int), new(int)
	m.TrySend(first)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.SendContext(ctx, item) }()
	if !asleep(m, sendKind) {
		return errors.New("SendContext on a full mailbox did not sleep within 5s")
	}
	cancel()
	if v, r := m.TryRecv(); v != first {
		return fmt.Errorf("TryRecv = %p %v, want the first item", v, r)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		return errors.New("SendContext still asleep 5s after its context ended")
	}
	rest, r := m.TryRecv()
	switch {
	case err == nil && rest != item:
		return fmt.Errorf("SendContext reported its item sent, yet TryRecv finds %p (%v)", rest, r)
	case err != nil && !errors.Is(err, context.Canceled):
		return fmt.Errorf("SendContext: %v, want nil or context.Canceled", err)
	case err != nil && rest != nil:
		return fmt.Errorf("SendContext returned %q, so sent nothing, yet its item is in the mailbox", err)
	}
	return nil
}
