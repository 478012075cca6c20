package mailbox

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// A batch receipt can take effect before its items are written (their
// sends claimed the slots and stalled). It must wait for each, sleeping
// rather than spinning for ever, and hand them over in order once
// written, whatever order they are written in.
//
// The bug: a batch receipt that returns nil for a slot not yet written,
// returns before all its items are there, or sleeps through the write.
func TestTryRecvManyWaitsForItemsInFlight(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	m := New[int](Unbounded)
	seg := m.tailSeg.Load()
	m.tail.Store(advance(m.tail.Load(), 3)) // a batch claims slots 0..2 and stalls before writing them
	type result struct {
		dst []*int
		n   int
		r   spec.Result
	}
	got := make(chan result)
	go func() {
		dst := make([]*int, 5)
		n, r := m.TryRecvMany(dst)
		got <- result{dst, n, r}
	}()
	waitSleepers(t, &m.core, lagKind, 1)
	vs := batchOf(1, 2, 3)
	for _, i := range []int{2, 0, 1} { // written out of order
		select {
		case <-got:
			t.Fatalf("TryRecvMany returned before item %d was written", i)
		case <-time.After(5 * time.Millisecond):
		}
		atomic.StorePointer(m.slot(&m.tailSeg, seg, seg.ID(), uint64(i)), unsafe.Pointer(vs[i]))
		if m.wait.Load()&lagSleep != 0 {
			m.wakeAll(lagSleep) // what the sender's settle does
		}
	}
	select {
	case res := <-got:
		if res.n != 3 || res.r != spec.Received || !slices.Equal(res.dst[:3], vs) {
			t.Fatalf("TryRecvMany = %d %v %v, want 3 Received %v", res.n, res.r, valuesOf(res.dst[:res.n]), valuesOf(vs))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the batch receipt was not woken when its items were written")
	}
}

// goRecv starts a Recv on m and waits until it is asleep in the mailbox,
// so that several started one after another sleep in that order. It
// returns where the outcome will come, and a channel closed on return.
func goRecv(t *testing.T, wg *sync.WaitGroup, m *Mailbox[int], got **int, err *error) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	asleep := m.sleepers(recvKind)
	wg.Go(func() {
		defer close(done)
		*got, *err = m.Recv()
	})
	waitSleepers(t, &m.core, recvKind, asleep+1)
	return done
}

// A batch send wakes as many sleeping receivers as it sends items, and
// they receive the batch's first items, one each; with one receiver
// asleep, that receiver gets the first item, and the rest stay queued.
//
// The bug: a batch delivery that wakes one receiver (as a single TrySend
// does) and leaves the others asleep beside queued items: a lost
// wake-up, which the deadline turns into a failure; or one that hands a
// sleeper an item from the middle of the batch.
func TestTrySendManyWakesReceivers(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, k := range []int{1, 2, 3, 8} {
		for _, extra := range []int{0, 2} {
			t.Run(fmt.Sprintf("%d-asleep-%d-sent", k, k+extra), func(t *testing.T) {
				m := New[int](Unbounded)
				var wg sync.WaitGroup
				got := make([]*int, k)
				errs := make([]error, k)
				done := make([]<-chan struct{}, k)
				for i := range k {
					done[i] = goRecv(t, &wg, m, &got[i], &errs[i])
				}
				vs := batchOf(seq(1, k+extra)...)
				if n, r := m.TrySendMany(vs); n != k+extra || r != spec.Delivered {
					t.Fatalf("TrySendMany = %d %v", n, r)
				}
				for i := range k {
					within(t, done[i], fmt.Sprintf("receiver %d of %d after a batch of %d", i, k, k+extra))
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("receiver %d: %v", i, err)
					}
				}
				// The receipts came after the batch: they took its first k
				// items, one each; the rest are still queued, in order.
				if !sameSet(got, vs[:k]) {
					t.Fatalf("the %d receivers got %v, want the batch's first %d %v, one each", k, valuesOf(got), k, valuesOf(vs[:k]))
				}
				if k == 1 && got[0] != vs[0] {
					t.Fatalf("the sleeping receiver got %v, want the batch's first item", valuesOf(got))
				}
				if left := m.Drain(); !slices.Equal(left, vs[k:]) {
					t.Fatalf("left queued: %v, want %v", valuesOf(left), valuesOf(vs[k:]))
				}
			})
		}
	}
}

// Wake-ups stay targeted for batches: a batch of 2 with 5 receivers asleep
// wakes 2 of them, not all 5; those 2 return with the items, and nobody
// goes back to sleep (which a woken receiver that found nothing would do).
//
// The bug: a batch delivery that broadcasts to every sleeping receiver,
// so that all but two wake only to sleep again (a thundering herd), or
// that wakes fewer than it sends (caught above).
func TestTrySendManyWakeUpsAreTargeted(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	m := New[int](Unbounded)
	var wg sync.WaitGroup
	got := make([]*int, 5)
	errs := make([]error, 5)
	for i := range 5 {
		goRecv(t, &wg, m, &got[i], &errs[i])
	}
	before := m.sleeps()
	vs := batchOf(1, 2)
	m.TrySendMany(vs)
	waitSleepers(t, &m.core, recvKind, 3)
	time.Sleep(10 * time.Millisecond)
	if n := m.sleepers(recvKind); n != 3 {
		t.Fatalf("a batch of 2 woke %d of 5 sleeping receivers", 5-n)
	}
	if again := m.sleeps() - before; again != 0 {
		t.Fatalf("after a batch of 2, %d receivers went back to sleep: the batch woke more receivers than it had items for", again)
	}
	if m.wait.Load()&recvSleep == 0 {
		t.Fatal("receiver bit cleared while receivers still sleep")
	}
	m.CloseWrite()
	wg.Wait()
	var received []*int
	for i, p := range got {
		if p != nil {
			received = append(received, p)
		} else if !errors.Is(errs[i], ErrUnreadable) {
			t.Errorf("receiver %d: %v, want ErrUnreadable after the close", i, errs[i])
		}
	}
	if !sameSet(received, vs) {
		t.Fatalf("received %v, want the batch %v", valuesOf(received), valuesOf(vs))
	}
}

// A batch receipt from a full bounded mailbox wakes as many sleeping
// senders as it frees room for, and their items go in; with fewer taken
// than senders asleep, the rest sleep on.
//
// The bug: a batch receipt that wakes one sender (as TryRecv does) and
// leaves the others asleep beside room: a lost wake-up; or one that wakes
// more senders than there is room for, which then overfill the mailbox
// or go back to sleep.
func TestTryRecvManyWakesSenders(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []struct{ asleep, take int }{{1, 3}, {3, 3}, {3, 2}, {5, 5}} {
		t.Run(fmt.Sprintf("%d-asleep-%d-taken", c.asleep, c.take), func(t *testing.T) {
			const capacity = 5
			m := New[int](capacity)
			queued := batchOf(seq(100, capacity)...)
			m.TrySendMany(queued)
			var wg sync.WaitGroup
			pending := batchOf(seq(1, c.asleep)...)
			errs := make([]error, c.asleep)
			done := make([]chan struct{}, c.asleep)
			for i := range c.asleep {
				done[i] = make(chan struct{})
				wg.Go(func() {
					defer close(done[i])
					errs[i] = m.Send(pending[i])
				})
				waitSleepers(t, &m.core, sendKind, i+1)
			}
			before := m.sleeps()
			dst := make([]*int, c.take)
			if n, r := m.TryRecvMany(dst); n != c.take || r != spec.Received || !slices.Equal(dst, queued[:c.take]) {
				t.Fatalf("TryRecvMany(%d) = %d %v %v", c.take, n, r, valuesOf(dst[:n]))
			}
			woken := min(c.asleep, c.take)
			for i := range woken {
				within(t, done[i], fmt.Sprintf("sender %d of %d after a batch receipt of %d", i, c.asleep, c.take))
				if errs[i] != nil {
					t.Fatalf("sender %d: %v", i, errs[i])
				}
			}
			waitSleepers(t, &m.core, sendKind, c.asleep-woken)
			time.Sleep(5 * time.Millisecond)
			if again := m.sleeps() - before; again != 0 {
				t.Fatalf("%d senders went back to sleep: the batch receipt woke more senders than it made room for", again)
			}
			if l := m.Len(); l != capacity-c.take+woken {
				t.Fatalf("Len = %d, want %d: woken senders overfilled or under-filled the mailbox", l, capacity-c.take+woken)
			}
			m.CloseRead() // releases the senders still asleep
			wg.Wait()
			// The woken senders' items follow what was queued, in the
			// order the senders went to sleep.
			want := append(slices.Clone(queued[c.take:]), pending[:woken]...)
			if left := m.Drain(); !slices.Equal(left, want) {
				t.Fatalf("the mailbox holds %v, want %v", valuesOf(left), valuesOf(want))
			}
			for i := woken; i < c.asleep; i++ {
				if !errors.Is(errs[i], ErrUnwritable) {
					t.Fatalf("sender %d, never given room: %v, want ErrUnwritable after CloseRead", i, errs[i])
				}
			}
		})
	}
}

// A batch wakes the Wait calls its items free, together with the
// receivers (or senders) asleep: WaitPoppable and WaitFull after a
// TrySendMany, WaitPushable and WaitEmpty after a TryRecvMany. Batches
// settle once per sleeping receiver (or sender) and wake the Wait calls
// on the first settle only.
//
// The bug: a batch that wakes the Wait calls only on a settle it skips
// (the watchers stay asleep), or only when no receiver sleeps.
func TestBatchesWakeWaitCalls(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, receivers := range []int{0, 2} {
		t.Run(fmt.Sprintf("%d-receivers-asleep", receivers), func(t *testing.T) {
			// The receivers take two of the four items as the batch lands,
			// so the mailbox is full after it only when none sleeps.
			m := New[int](4)
			poppable, full := make(chan struct{}), make(chan struct{})
			go func() { defer close(poppable); m.WaitPoppable() }()
			watchers := 1
			if receivers == 0 {
				go func() { defer close(full); m.WaitFull() }()
				watchers++
			}
			var wg sync.WaitGroup
			got := make([]*int, receivers)
			errs := make([]error, receivers)
			for i := range receivers {
				goRecv(t, &wg, m, &got[i], &errs[i])
			}
			waitSleepers(t, &m.core, watchKind, watchers)
			if n, r := m.TrySendMany(batchOf(seq(1, 4)...)); n != 4 || r != spec.Delivered {
				t.Fatalf("TrySendMany = %d %v", n, r)
			}
			within(t, poppable, "WaitPoppable after a batch")
			wg.Wait()
			if receivers == 0 {
				within(t, full, "WaitFull after a batch that filled the mailbox")
			}

			pushable, empty := make(chan struct{}), make(chan struct{})
			go func() { defer close(pushable); m.WaitPushable() }()
			go func() { defer close(empty); m.WaitEmpty() }()
			waitSleepers(t, &m.core, watchKind, 2-receivers/2) // WaitPushable returns at once unless full
			if n, r := m.TryRecvMany(make([]*int, 4)); n != 4-receivers || r != spec.Received {
				t.Fatalf("TryRecvMany = %d %v, want %d", n, r, 4-receivers)
			}
			within(t, pushable, "WaitPushable after a batch")
			within(t, empty, "WaitEmpty after a batch that emptied the mailbox")
		})
	}
}
