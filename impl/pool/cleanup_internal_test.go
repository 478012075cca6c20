package pool

import (
	"runtime"
	"testing"
	"weak"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// coreAfterOneGC makes a pool of two waiters, closes it if join, drops
// it, and reports whether its state survived one collection: it does
// while the pool's cleanup is armed (the cleanup's argument is kept for
// it), and must not once Close has seen every worker Dead, so that the
// rounds of a campaign that joins its pools are freed as they go.
func coreAfterOneGC(t *testing.T, join bool) bool {
	box := mailbox.New[cont.C](mailbox.Unbounded)
	var w weak.Pointer[core]
	func() {
		p, err := New(Waiter, box, 2)
		if err != nil {
			t.Fatal(err)
		}
		w = weak.Make(p.c)
		if join {
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}()
	runtime.GC()
	alive := w.Value() != nil
	box.CloseRead() // the unjoined pool's workers end, whether or not its cleanup has run
	return alive
}

// A pool that Close (or Join) saw end is freed by one collection: its
// cleanup, with nothing left to do, is disarmed. The bug: a cleanup left
// armed, which keeps each pool's state (its runtimes, their dispatchers'
// buffers) for a collection more; the pool campaign's live heap grew by
// about 9 KB a round with it (linearize/campaign's
// TestCampaignsLeaveNoHeap). The control, a pool never joined, survives
// the collection.
func TestJoinedPoolNeedsNoCleanup(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	if coreAfterOneGC(t, true) {
		t.Fatal("a closed pool's state survived a collection: its cleanup is still armed")
	}
	if !coreAfterOneGC(t, false) {
		t.Fatal("the control: a pool never joined was freed at once, so the check cannot see an armed cleanup")
	}
}
