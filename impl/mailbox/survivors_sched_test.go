//go:build sched

package mailbox

import (
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// peek reads an atomic word of the mailbox without passing a switch point,
// for a Chooser, which runs inside the scheduler and must not call the
// seam: under -tags sched a seam.Uint64 holds its sync/atomic value at
// offset 0.
func peek(x *seam.Uint64) uint64 { return (*atomic.Uint64)(unsafe.Pointer(x)).Load() }

// The goroutines of lagRun: the run's main function is 0, then the
// sender and the receiver, in the order main starts them.
const (
	lagMain = iota
	lagSender
	lagReceiver
)

// lagChooser steers one TrySend and one TryRecv through take's lag path:
// the sender runs until its CAS on the tail word has taken effect (it then
// stands at the Point before its slot write); the receiver runs, claims
// that slot, finds it empty, re-reads it lagSpins times and registers as a
// lag sleeper, and after the wait word shows its lag bit it takes after
// more steps of its own; then the sender runs to its end (it writes the
// slot and wakes lag sleepers), and the rest goes as it may.
type lagChooser struct {
	m      *Mailbox[int]
	after  int
	phase  int
	steps  int  // the receiver's steps since the lag bit showed
	sawLag bool // the receiver registered as a lag sleeper
}

func (c *lagChooser) Choose(d *seam.Decision) int {
	index := func(g int) int {
		for i, id := range d.Runnable {
			if id == g {
				return i
			}
		}
		return -1
	}
	if c.phase == 0 {
		switch {
		case index(lagReceiver) < 0 && index(lagMain) >= 0:
			return index(lagMain) // main has yet to start both
		case peek(&c.m.tail)&posMask == 0 && index(lagSender) >= 0:
			return index(lagSender)
		}
		c.phase = 1
	}
	if c.phase == 1 {
		if peek(&c.m.wait)&lagSleep != 0 {
			c.sawLag = true
			if c.steps >= c.after {
				c.phase = 2
			}
			c.steps++
		}
		if i := index(lagReceiver); c.phase == 1 && i >= 0 {
			return i
		}
		c.phase = 2
	}
	if i := index(lagSender); i >= 0 {
		return i
	}
	return 0
}

// The rule: a receipt that takes effect before the sender of its slot has
// written it waits for the item (take: a bounded re-read, then a sleep as
// a lag sleeper), and returns exactly that item; the sender's write, then
// its wake-up of lag sleepers, ends the wait. A receipt never loses an
// item whose send reported Delivered.
//
// The bug it catches: mailbox.go:Mailbox.take:swap-split:3, the re-check
// after the receipt registers as a lag sleeper split into a Load and a
// Store of nil. With the sender's write between the two (the Load saw
// nil), the Store erases the item; the sender's wake-up finds the receipt
// registered and wakes it, and it re-reads an empty slot for ever: TryRecv
// never returns, and the run ends in a deadlock. No other test drives a
// receipt through the lag path with the sender stopped past lagSpins
// re-reads. The schedule (lagChooser) stops the sender between its CAS and
// its write, runs the receipt to its registration, and switches back to the
// sender after 0 to 5 more of the receipt's steps; on the mutant, 2 of them
// (the Load done, the Store to come) lose the item.
func TestLagReceiptKeepsItsItem(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for after := range 6 {
		m := New[int](1)
		x := 42
		var (
			sent Result
			got  *int
			recv Result
		)
		c := &lagChooser{m: m, after: after}
		res, err := seam.Run(c, func() {
			done := make(chan struct{})
			seam.Go(func() { sent = m.TrySend(&x) })
			seam.Go(func() {
				got, recv = m.TryRecv()
				seam.Close(done)
			})
			seam.Await(done)
		}, seam.Options{Trace: true})
		if err != nil {
			t.Fatalf("after %d steps: %v", after, err)
		}
		if res.Outcome != seam.Finished {
			last := res.Trace[max(len(res.Trace)-8, 0):]
			t.Fatalf("switching to the sender %d steps after the receipt registered as a lag sleeper: %s\nlast steps: %v",
				after, res.Failure, last)
		}
		if !c.sawLag {
			t.Fatalf("after %d steps: the receipt never registered as a lag sleeper: the schedule missed take's lag path", after)
		}
		if sent != Delivered || recv != Received || got != &x {
			t.Fatalf("after %d steps: TrySend %v, TryRecv %v (item %p, want %p)", after, sent, recv, got, &x)
		}
	}
}
