package mailbox

// Tests of the batch operations, TrySendMany and TryRecvMany, rule by rule
// (see spec.Mailbox) and under concurrency. They live in the package so
// that the wake-up tests can wait until their callers are really asleep
// (waitSleepers) instead of sleeping and hoping.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/internal/segment"
	"github.com/insideout-go/insideout/internal/testdeadline"
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
	testdeadline.Guard(t, testdeadline.Default)
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
// reading still taking batches (the Nim original's behaviour, which the
// contract drops), or a refused batch that sends some of its items anyway.
func TestTrySendManyRefusals(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
	noHang(t, "batches across the position wrap", func() error {
		m := New[int](16)
		start := uint64(posMask - 5)
		m.tail.Store(m.tail.Load() | start)
		m.head.Store(m.head.Load() | start)
		m.segs.Reset(start / segment.Span)
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
