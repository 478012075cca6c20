package mailbox

// Tests of the batch operations, TrySendMany and TryRecvMany, rule by rule
// (see spec.Mailbox) and under concurrency. They live in the package so
// that the wake-up tests can wait until their callers are really asleep
// (waitSleepers) instead of sleeping and hoping.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/insideout-go/insideout/impl/internal/segment"
	"github.com/insideout-go/insideout/spec"
)

// batchOf returns fresh pointers to the values vs, 0 standing for nil.
func batchOf(vs ...int) []*int {
	ps := make([]*int, len(vs))
	for i, v := range vs {
		if v != 0 {
			ps[i] = new(int)
			*ps[i] = v
		}
	}
	return ps
}

// seq returns from, from+1, ..., n values.
func seq(from, n int) []int {
	vs := make([]int, n)
	for i := range vs {
		vs[i] = from + i
	}
	return vs
}

// valuesOf returns the values ps point to, 0 for nil.
func valuesOf(ps []*int) []int {
	vs := make([]int, len(ps))
	for i, p := range ps {
		if p != nil {
			vs[i] = *p
		}
	}
	return vs
}

// drainValues drains m and returns the values it held.
func drainValues(m *Mailbox[int]) []int { return valuesOf(m.Drain()) }

// within fails the test if done is not closed within five seconds: a call
// that sleeps although it was woken (a lost wake-up) fails the test
// instead of hanging it.
func within(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: still asleep after 5s (lost wake-up)", what)
	}
}

// noHang runs f, which never waits for another goroutine, and fails the
// test if it has not returned within ten seconds: a receipt waiting for an
// item that no send wrote where it looks (an item lost to a wrong slot)
// then fails the test instead of hanging it. The stuck goroutine is left
// behind, and goleak reports it too.
func noHang(t *testing.T, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still running after 10s: a receipt is waiting for an item that was never written where it looks", what)
	}
}

// Nil anywhere in vs: Nil, and nothing sent, not even the items before
// the nil; and Nil comes first, before paused, closed and full.
//
// The bug: a TrySendMany that sends item by item and stops at the nil
// (the prefix goes through), that checks for nil only after the state
// (reporting Paused, Unwritable or Full for a batch holding nil), or that
// lets a nil into the mailbox.
func TestTrySendManyNil(t *testing.T) {
	for _, vs := range [][]int{{0}, {0, 2, 3}, {1, 0, 3}, {1, 2, 0}} {
		m := New[int](Unbounded)
		if n, r := m.TrySendMany(batchOf(vs...)); n != 0 || r != spec.Nil {
			t.Errorf("TrySendMany(%v) = %d %v, want 0 Nil", vs, n, r)
		}
		if l := m.Len(); l != 0 {
			t.Errorf("TrySendMany(%v) reported Nil and left %d items: %v", vs, l, drainValues(m))
		}
	}
	// Nil before every other rule: a mailbox that is paused, closed at both
	// ends and full still says Nil.
	m := New[int](1)
	m.TrySend(batchOf(9)[0])
	m.Pause()
	m.CloseWrite()
	m.CloseRead()
	if n, r := m.TrySendMany(batchOf(1, 0)); n != 0 || r != spec.Nil {
		t.Errorf("TrySendMany with a nil on a paused, closed, full mailbox = %d %v, want 0 Nil (Nil comes first)", n, r)
	}
}

// The rules in order: paused, then unwritable (closed for writing or for
// reading), then full. Each refusal sends nothing.
//
// The bug: the rules checked in another order (a full, paused mailbox
// reporting Full; a closed, full one reporting Full), a mailbox closed for
// reading still taking batches (the seed's behaviour, which the contract
// drops), or a refused batch that sends some of its items anyway.
func TestTrySendManyRefusals(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(m *Mailbox[int])
		want  spec.Result
	}{
		{"paused", func(m *Mailbox[int]) { m.Pause() }, spec.Paused},
		{"paused, closed, full", func(m *Mailbox[int]) { m.SetCap(1); m.Pause(); m.CloseWrite() }, spec.Paused},
		{"closed for writing", func(m *Mailbox[int]) { m.CloseWrite() }, spec.Unwritable},
		{"closed for reading", func(m *Mailbox[int]) { m.CloseRead() }, spec.Unwritable},
		{"closed for writing, full", func(m *Mailbox[int]) { m.SetCap(1); m.CloseWrite() }, spec.Unwritable},
		{"full", func(m *Mailbox[int]) { m.SetCap(1) }, spec.Full},
		{"over full (SetCap below Len)", func(m *Mailbox[int]) { m.SetCap(0) }, spec.Full},
		{"capacity 0", func(m *Mailbox[int]) { m.Clear(); m.SetCap(0) }, spec.Full},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := New[int](3)
			m.TrySend(batchOf(100)[0]) // one item, so that "full" can be made by SetCap
			c.setup(m)
			before := m.Len()
			if n, r := m.TrySendMany(batchOf(1, 2, 3)); n != 0 || r != c.want {
				t.Errorf("TrySendMany = %d %v, want 0 %v", n, r, c.want)
			}
			if m.Len() != before {
				t.Errorf("a refused batch changed Len from %d to %d", before, m.Len())
			}
			// An empty batch follows the same rules.
			if n, r := m.TrySendMany(nil); n != 0 || r != c.want {
				t.Errorf("TrySendMany(nil slice) = %d %v, want 0 %v", n, r, c.want)
			}
		})
	}
}

// A partial send: capacity 3 holding 1, a batch of 5 sends its first two,
// in order, and reports 2 Delivered; the next batch finds it full.
//
// The bug: an all-or-nothing batch (Full though two fit), one that
// overfills (sends all 5), miscounts the room (ignores the item already
// there), sends the wrong part (the last two), or reports a count other
// than what it sent.
func TestTrySendManyPartial(t *testing.T) {
	m := New[int](3)
	first := batchOf(100)
	m.TrySend(first[0])
	vs := batchOf(1, 2, 3, 4, 5)
	if n, r := m.TrySendMany(vs); n != 2 || r != spec.Delivered {
		t.Fatalf("TrySendMany of 5 into 1 of 3 = %d %v, want 2 Delivered", n, r)
	}
	if l := m.Len(); l != 3 {
		t.Fatalf("Len = %d after a partial send, want 3", l)
	}
	if f := m.Flags(); f&spec.FlagFull == 0 {
		t.Fatalf("Flags = %v after filling the mailbox, want Full", f)
	}
	if n, r := m.TrySendMany(vs[2:]); n != 0 || r != spec.Full {
		t.Fatalf("TrySendMany into a full mailbox = %d %v, want 0 Full", n, r)
	}
	got := m.Drain()
	if want := []*int{first[0], vs[0], vs[1]}; !slices.Equal(got, want) {
		t.Fatalf("the mailbox holds %v, want %v: the sent prefix, in order, after what was there", valuesOf(got), valuesOf(want))
	}
	// Unbounded: everything goes.
	u := New[int](Unbounded)
	if n, r := u.TrySendMany(batchOf(seq(1, 50)...)); n != 50 || r != spec.Delivered {
		t.Fatalf("TrySendMany of 50 into an unbounded mailbox = %d %v, want 50 Delivered", n, r)
	}
}

// Empty batches: an empty vs sends nothing and says Delivered where an
// item could have been sent; an empty dst takes nothing and says Received
// where an item could have been taken; neither changes anything.
//
// The bug: an empty batch reported as Full or Empty (or Nil) where the
// single-item form would succeed, or one that touches the mailbox (takes
// or loses an item, or wakes someone into a wrong state).
func TestBatchEmpty(t *testing.T) {
	m := New[int](2)
	if n, r := m.TrySendMany([]*int{}); n != 0 || r != spec.Delivered {
		t.Errorf("TrySendMany([]) on an empty mailbox = %d %v, want 0 Delivered", n, r)
	}
	if n, r := m.TryRecvMany([]*int{}); n != 0 || r != spec.Empty {
		t.Errorf("TryRecvMany([]) on an empty mailbox = %d %v, want 0 Empty", n, r)
	}
	vs := batchOf(1, 2)
	m.TrySendMany(vs)
	if n, r := m.TrySendMany(nil); n != 0 || r != spec.Full {
		t.Errorf("TrySendMany(nil slice) on a full mailbox = %d %v, want 0 Full", n, r)
	}
	if n, r := m.TryRecvMany(nil); n != 0 || r != spec.Received {
		t.Errorf("TryRecvMany(nil slice) on a mailbox with items = %d %v, want 0 Received", n, r)
	}
	if got := m.Drain(); !slices.Equal(got, vs) {
		t.Errorf("empty batches changed the mailbox: it holds %v, want %v", valuesOf(got), valuesOf(vs))
	}
}

// TryRecvMany takes the first items in FIFO order, the very pointers sent,
// as many as dst holds, or fewer when fewer are there, and writes nothing
// past them.
//
// The bug: a receipt that takes from the tail or reverses the batch, that
// copies items instead of handing over the pointers sent, that reports
// len(dst) when fewer were there (or writes nils or stale items past the
// count), or that takes more than dst holds.
func TestTryRecvManyFIFO(t *testing.T) {
	m := New[int](Unbounded)
	vs := batchOf(seq(1, 7)...)
	if n, r := m.TrySendMany(vs); n != 7 || r != spec.Delivered {
		t.Fatalf("TrySendMany of 7 = %d %v", n, r)
	}
	dst := make([]*int, 3)
	if n, r := m.TryRecvMany(dst); n != 3 || r != spec.Received {
		t.Fatalf("TryRecvMany(3) from 7 = %d %v, want 3 Received", n, r)
	}
	if !slices.Equal(dst, vs[:3]) {
		t.Fatalf("TryRecvMany(3) took %v, want the first three %v, the very pointers sent", valuesOf(dst), valuesOf(vs[:3]))
	}
	if l := m.Len(); l != 4 {
		t.Fatalf("Len = %d after taking 3 of 7, want 4", l)
	}
	// More room than items: the four left, and nothing written past them.
	sentinel := new(int)
	dst = make([]*int, 8)
	for i := range dst {
		dst[i] = sentinel
	}
	if n, r := m.TryRecvMany(dst); n != 4 || r != spec.Received {
		t.Fatalf("TryRecvMany(8) from 4 = %d %v, want 4 Received", n, r)
	}
	if !slices.Equal(dst[:4], vs[3:]) {
		t.Fatalf("TryRecvMany(8) took %v, want %v", valuesOf(dst[:4]), valuesOf(vs[3:]))
	}
	for i, p := range dst[4:] {
		if p != sentinel {
			t.Fatalf("dst[%d], past the 4 items received, was overwritten with %v", 4+i, p)
		}
	}
	if n, r := m.TryRecvMany(dst); n != 0 || r != spec.Empty {
		t.Fatalf("TryRecvMany on the emptied mailbox = %d %v, want 0 Empty", n, r)
	}
	// Mixed with the single-item forms, in one FIFO.
	m.TrySend(vs[0])
	m.TrySendMany(vs[1:3])
	m.TrySend(vs[3])
	if p, _ := m.TryRecv(); p != vs[0] {
		t.Fatalf("TryRecv = %v, want the first item sent", valuesOf([]*int{p}))
	}
	dst = make([]*int, 3)
	if n, _ := m.TryRecvMany(dst); n != 3 || !slices.Equal(dst, vs[1:4]) {
		t.Fatalf("TryRecvMany after TrySend, TrySendMany, TrySend = %v, want %v", valuesOf(dst[:n]), valuesOf(vs[1:4]))
	}
}

// TryRecvMany's refusals, in the rules' order: paused, then closed for
// reading, then closed for writing and empty, then empty. A refusal takes
// nothing and writes nothing into dst; closed for writing alone still
// lets the queued items out.
//
// The bug: the rules in another order (a paused mailbox with items
// handing them out; a mailbox closed for reading handing out what is
// queued; closed for writing reported Unreadable while items remain), or
// a refusal that takes items or scribbles on dst.
func TestTryRecvManyRefusals(t *testing.T) {
	sentinel := new(int)
	fresh := func() []*int { return []*int{sentinel, sentinel, sentinel} }
	check := func(m *Mailbox[int], what string, wantN int, want spec.Result) {
		t.Helper()
		dst := fresh()
		before := m.Len()
		n, r := m.TryRecvMany(dst)
		if n != wantN || r != want {
			t.Errorf("%s: TryRecvMany = %d %v, want %d %v", what, n, r, wantN, want)
		}
		if r != spec.Received {
			if !slices.Equal(dst, fresh()) || m.Len() != before {
				t.Errorf("%s: a refused TryRecvMany wrote into dst or took items (Len %d → %d)", what, before, m.Len())
			}
		}
	}
	m := New[int](4)
	m.TrySendMany(batchOf(1, 2))
	m.Pause()
	check(m, "paused with items", 0, spec.Paused)
	m.CloseRead()
	check(m, "paused and closed for reading", 0, spec.Paused)
	m.Resume()
	check(m, "closed for reading with items", 0, spec.Unreadable)

	m = New[int](4)
	m.TrySendMany(batchOf(1, 2))
	m.CloseWrite()
	check(m, "closed for writing with 2 items", 2, spec.Received)
	check(m, "closed for writing and drained", 0, spec.Unreadable)

	m = New[int](4)
	check(m, "empty", 0, spec.Empty)
}

// Items spanning segment boundaries (1016 slots each) arrive in order, as
// the very pointers sent: batches larger than a segment, batches that
// start near a boundary and end past it, received in batches of other
// sizes, so that sends and receipts straddle boundaries at different
// places; then the same through a bounded mailbox, with partial sends.
//
// The bug: a batch that addresses every slot in the segment its hint
// points to (items past the boundary written into the wrong segment, or
// out of bounds), a segment created twice or skipped, or a receipt that
// reads a slot of the wrong segment.
func TestBatchesAcrossSegments(t *testing.T) {
	const total = 3*segment.Slots + 517
	sendSizes := []int{1, 1015, 1016, 1017, 2, 2500, 7, 3000}
	recvSizes := []int{3, 1016, 1, 1500, 1017, 64, 4000}
	for _, capacity := range []int{Unbounded, 1500} {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			noHang(t, "batches across segments", func() error {
				m := New[int](capacity)
				vs := batchOf(seq(1, total)...)
				var got []*int
				sent, i, j := 0, 0, 0
				for len(got) < total {
					if sent < total {
						k := min(sendSizes[i%len(sendSizes)], total-sent)
						i++
						n, r := m.TrySendMany(vs[sent : sent+k])
						switch {
						case r == spec.Delivered && n == min(k, capacity-m.Len()+n):
						case r == spec.Full && n == 0 && m.Len() >= capacity:
						default:
							return fmt.Errorf("TrySendMany of %d with %d queued (capacity %d) = %d %v", k, m.Len()-n, capacity, n, r)
						}
						sent += n
					}
					dst := make([]*int, recvSizes[j%len(recvSizes)])
					j++
					n, r := m.TryRecvMany(dst)
					if r != spec.Received && !(r == spec.Empty && n == 0) {
						return fmt.Errorf("TryRecvMany(%d) = %d %v", len(dst), n, r)
					}
					got = append(got, dst[:n]...)
				}
				for k, p := range got {
					if p != vs[k] {
						return fmt.Errorf("item %d (segment %d, slot %d) is %v, want %d, the pointer sent",
							k, k/segment.Slots, k%segment.Slots, valuesOf([]*int{p}), k+1)
					}
				}
				if l := m.Len(); l != 0 {
					return fmt.Errorf("Len = %d after everything was received", l)
				}
				return nil
			})
		})
	}
}

// Positions wrap at 2^34 in the words: a batch that claims positions on
// both sides of the wrap, and a batch receipt across it, keep the items
// in order.
//
// The bug: a batch that computes its slots' full positions once from the
// wrapped word (positions past the wrap land in segment 0 or far beyond),
// or a count that goes wrong across the wrap.
func TestBatchesAcrossPositionWrap(t *testing.T) {
	noHang(t, "batches across the position wrap", func() error {
		m := New[int](16)
		start := uint64(posMask - 5)
		m.tail.Store(m.tail.Load() | start)
		m.head.Store(m.head.Load() | start)
		seg := &segment.Segment{ID: start / segment.Slots}
		m.tailSeg.Store(seg)
		m.headSeg.Store(seg)
		vs := batchOf(seq(1, 40)...)
		var got []*int
		for sent := 0; sent < len(vs); {
			n, r := m.TrySendMany(vs[sent:min(sent+9, len(vs))])
			if r != spec.Delivered || n == 0 {
				return fmt.Errorf("TrySendMany after %d sent = %d %v", sent, n, r)
			}
			sent += n
			dst := make([]*int, 5)
			n, r = m.TryRecvMany(dst)
			if r != spec.Received {
				return fmt.Errorf("TryRecvMany = %d %v", n, r)
			}
			got = append(got, dst[:n]...)
		}
		got = append(got, m.Drain()...)
		if !slices.Equal(got, vs) {
			return fmt.Errorf("across the wrap: got %v, want %v", valuesOf(got), valuesOf(vs))
		}
		if p := m.tail.Load() & posMask; p != (start+40)&posMask {
			return fmt.Errorf("tail position %d after 40 sends from %d, want %d", p, start, (start+40)&posMask)
		}
		return nil
	})
}

// A batch receipt can take effect before its items are written (their
// sends claimed the slots and stalled). It must wait for each, sleeping
// rather than spinning for ever, and hand them over in order once
// written, whatever order they are written in.
//
// The bug: a batch receipt that returns nil for a slot not yet written,
// returns before all its items are there, or sleeps through the write.
func TestTryRecvManyWaitsForItemsInFlight(t *testing.T) {
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
		atomic.StorePointer(slot(&m.tailSeg, seg, uint64(i)), unsafe.Pointer(vs[i]))
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

// sameSet reports whether a and b hold the same pointers, each once.
func sameSet(a, b []*int) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[*int]int{}
	for _, p := range b {
		seen[p]++
	}
	for _, p := range a {
		if seen[p] == 0 {
			return false
		}
		seen[p]--
	}
	return true
}

// batchItem is an item of the concurrent tests: its sender, its place in
// the sender's sequence, and the number of the batch it was sent in.
type batchItem struct{ sender, seq, batch int }

// batchRun runs senders that send their items by TrySendMany (batches of
// 1 to 16, the unsent rest retried) or Send, and receivers that take them
// by TryRecvMany (buffers of 1 to 16) or Recv, until the senders are done
// and the mailbox, closed for writing, is drained. It returns what each
// receiver got, in order, and each sender's items.
func batchRun(t *testing.T, capacity, senders, receivers, perSender int, seed uint64) ([][]*batchItem, [][]batchItem) {
	t.Helper()
	m := New[batchItem](capacity)
	items := make([][]batchItem, senders)
	for s := range items {
		items[s] = make([]batchItem, perSender)
		for i := range items[s] {
			items[s][i] = batchItem{sender: s, seq: i, batch: -1}
		}
	}
	got := make([][]*batchItem, receivers)
	var sendWG, recvWG sync.WaitGroup
	var problems atomic.Pointer[string]
	problem := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		problems.CompareAndSwap(nil, &s)
	}
	for s := range senders {
		sendWG.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(s)))
			batch := 0
			for i := 0; i < perSender; {
				if r.IntN(4) == 0 {
					items[s][i].batch = batch // a batch of its own
					batch++
					if err := m.Send(&items[s][i]); err != nil {
						problem("sender %d: Send: %v", s, err)
						return
					}
					i++
					continue
				}
				k := min(1+r.IntN(16), perSender-i)
				vs := make([]*batchItem, k)
				for j := range vs {
					vs[j] = &items[s][i+j]
					vs[j].batch = batch // before the send publishes it
				}
				batch++
				n, res := m.TrySendMany(vs)
				switch {
				case res == spec.Delivered && n >= 1 && n <= k:
					i += n
				case (res == spec.Full || res == spec.Paused) && n == 0:
					runtime.Gosched()
				default:
					problem("sender %d: TrySendMany of %d = %d %v", s, k, n, res)
					return
				}
			}
		})
	}
	for c := range receivers {
		recvWG.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(1000+c)))
			for {
				if r.IntN(4) == 0 {
					x, err := m.Recv()
					if errors.Is(err, ErrUnreadable) {
						return
					}
					if err != nil {
						problem("receiver %d: Recv: %v", c, err)
						return
					}
					got[c] = append(got[c], x)
					continue
				}
				dst := make([]*batchItem, 1+r.IntN(16))
				n, res := m.TryRecvMany(dst)
				switch {
				case res == spec.Received && n >= 1 && n <= len(dst):
					got[c] = append(got[c], dst[:n]...)
				case res == spec.Empty && n == 0:
					runtime.Gosched()
				case res == spec.Unreadable && n == 0:
					return
				default:
					problem("receiver %d: TryRecvMany(%d) = %d %v", c, len(dst), n, res)
					return
				}
			}
		})
	}
	finished := make(chan struct{})
	go func() {
		sendWG.Wait()
		m.CloseWrite()
		recvWG.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		// Release what closing can release; a receipt waiting for an item
		// that was never written stays stuck, and goleak reports it too.
		m.CloseRead()
		t.Fatalf("the run did not finish in 30s (capacity %d): a lost wake-up or a lost item; %d items left", capacity, m.Len())
	}
	if p := problems.Load(); p != nil {
		t.Fatal(*p)
	}
	return got, items
}

// Conservation and order under concurrency: several senders with
// TrySendMany and Send, several receivers with TryRecvMany and Recv, on
// bounded and unbounded mailboxes. Every item must be received exactly
// once, the very pointer sent, and each receiver must see each sender's
// items in order.
//
// The bug: a batch that loses or duplicates items when it races other
// sends and receipts (two batches claiming overlapping slots; a receipt
// batch that counts items a sender has not claimed), reorders them, or
// hands out a copy; a wake-up lost between a batch and a sleeper (the run
// hangs, and the deadline reports it); a result a batch never returns.
func TestBatchConcurrentConservation(t *testing.T) {
	const senders, receivers, perSender = 3, 3, 4000
	for i, capacity := range []int{1, 7, Unbounded} {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			got, items := batchRun(t, capacity, senders, receivers, perSender, uint64(i)+1)
			count := make([][]int, senders)
			for s := range count {
				count[s] = make([]int, perSender)
			}
			for c, xs := range got {
				last := make([]int, senders)
				for s := range last {
					last[s] = -1
				}
				for _, x := range xs {
					if x == nil || x.sender < 0 || x.sender >= senders || x.seq < 0 || x.seq >= perSender || x != &items[x.sender][x.seq] {
						t.Fatalf("receiver %d got %p, which is not an item sent", c, x)
					}
					if x.seq <= last[x.sender] {
						t.Fatalf("receiver %d got (%d,%d) after (%d,%d): per-sender order broken", c, x.sender, x.seq, x.sender, last[x.sender])
					}
					last[x.sender] = x.seq
					count[x.sender][x.seq]++
				}
			}
			for s := range count {
				for i, n := range count[s] {
					if n != 1 {
						t.Fatalf("item (%d,%d) received %d times, want once", s, i, n)
					}
				}
			}
		})
	}
}

// A batch send is one step: with a single receiver, which sees the
// mailbox's order, the items of each batch that went in whole arrive
// together, with nothing from another sender between them. A batch
// receipt is one step too: with a single sender, whose items are numbered
// in the mailbox's order, what each TryRecvMany takes is a run of
// consecutive items, even with other receivers taking at once.
//
// The bug: a TrySendMany made of one claim per item, or a TryRecvMany of
// one receipt per item (each item correct, FIFO kept, but another
// operation can come between two items of the batch), which the contract
// forbids: "Nothing comes between two of them".
func TestBatchesAreOneStep(t *testing.T) {
	t.Run("send", func(t *testing.T) {
		const senders, perSender = 4, 4000
		got, _ := batchRun(t, Unbounded, senders, 1, perSender, 7)
		// Each batch item records the number of its batch; a batch of k
		// items that went in at once shows as k neighbours with the same
		// sender and batch. Items of a batch partly sent were numbered
		// again when the rest was retried, so a batch's items are
		// always contiguous in the one receiver's sequence.
		xs := got[0]
		where := map[[2]int]int{} // (sender, batch) → index of its last item seen
		for i, x := range xs {
			key := [2]int{x.sender, x.batch}
			if j, ok := where[key]; ok && j != i-1 {
				t.Fatalf("sender %d's batch %d: items at %d and %d, with %d other items between them: the batch was not one step",
					x.sender, x.batch, j, i, i-j-1)
			}
			where[key] = i
		}
	})
	t.Run("recv", func(t *testing.T) {
		m := New[int](Unbounded)
		const total, receivers = 20000, 3
		vs := batchOf(seq(1, total)...)
		var wg sync.WaitGroup
		var bad atomic.Pointer[string]
		var taken atomic.Int64
		for c := range receivers {
			wg.Go(func() {
				dst := make([]*int, 2+c*3)
				for {
					n, r := m.TryRecvMany(dst)
					if r == spec.Unreadable {
						return
					}
					if r != spec.Received {
						runtime.Gosched()
						continue
					}
					taken.Add(int64(n))
					for i := 1; i < n; i++ {
						if *dst[i] != *dst[i-1]+1 {
							s := fmt.Sprintf("receiver %d took %v in one TryRecvMany: not consecutive, so another receipt came between", c, valuesOf(dst[:n]))
							bad.CompareAndSwap(nil, &s)
						}
					}
				}
			})
		}
		for sent := 0; sent < total; {
			n, _ := m.TrySendMany(vs[sent:min(sent+5, total)])
			sent += n
		}
		m.CloseWrite()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		within(t, done, "the receivers of a write-closed mailbox")
		if s := bad.Load(); s != nil {
			t.Fatal(*s)
		}
		if n := taken.Load(); n != total {
			t.Fatalf("%d items received, want %d", n, total)
		}
	})
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
