package mailbox

import (
	"unsafe"

	"github.com/insideout-go/insideout/impl/internal/segment"
	"github.com/insideout-go/insideout/impl/seam"
)

// TrySendMany sends a prefix of vs, without waiting, as one operation: the
// items take effect together, at one instant, in the order of vs, and no
// other send comes between two of them. It sends all that fit when nothing
// else is going on, and at least one whenever one fits: receipts that make
// room while it decides may leave room unused (see spec.Mailbox). It
// returns how many it sent and Delivered, or 0 and what TrySend would
// report instead: Nil if any item of vs is nil (then none is sent),
// Paused, Unwritable or Full. An empty vs sends nothing, and reports
// Delivered if an item could have been sent.
func (m *Mailbox[T]) TrySendMany(vs []*T) (int, Result) {
	for _, v := range vs {
		if v == nil {
			return 0, Nil
		}
	}
	for {
		seg, segID := segment.LoadHint(&m.tailSeg) // before claiming: see package segment
		s := m.snapshot()
		switch {
		case s.t&paused != 0:
			return 0, Paused
		case s.unwritable():
			return 0, Unwritable
		case s.full():
			return 0, Full
		}
		n := min(len(vs), capOf(s.t)-s.count())
		if n == 0 {
			return 0, Delivered
		}
		// The sends claim slots s.t to s.t+n-1 and take effect here; the
		// CAS fails if the tail word changed since the snapshot. The head
		// may have moved on since: then there is more room at this instant
		// than n used, which the spec allows (a batch may send fewer than
		// fit, never none where one fits: n ≥ 1 here). Only the tail word
		// can be claimed in one step; the stress suite's linearizability
		// check found the history where this matters (a cap-2 mailbox: a
		// batch of 2 sent 1 while a batch receipt took the item that made
		// it full).
		if !m.tail.CompareAndSwap(s.t, advance(s.t, uint64(n))) {
			continue
		}
		seam.Point()
		p := m.fullPos(segID, s.t&posMask)
		for i, v := range vs[:n] {
			// Each store publishes its item, as in trySend. Consecutive
			// positions share a segment until one ends: each lookup starts
			// from the segment of the one before.
			var sl *unsafe.Pointer
			seg, sl = m.segs.Locate(&m.tailSeg, seg, p+uint64(i))
			seam.StorePointer(sl, unsafe.Pointer(v))
		}
		// The first settle does every wake-up the batch calls for but one
		// per sleeping receiver, each of which one item frees: the rest
		// take one settle each. (The Wait calls and the receipts waiting
		// for their slot need only the first, which sees every item in.)
		for i := range n {
			if w := m.wait.Load(); w == 0 || i > 0 && w&recvSleep == 0 {
				break
			}
			m.settle(delivered)
		}
		return n, Delivered
	}
}

// TryRecvMany receives up to len(dst) items without waiting, as one
// operation: the first items of the mailbox, taken together at one
// instant, stored in dst in order. It takes min(len(dst), Len) items when
// nothing else is going on, and at least one whenever there is one: sends
// that land while it decides may add items it leaves (see spec.Mailbox).
// It returns how many it received and Received, or 0 and what TryRecv
// would report instead: Paused, Unreadable or Empty. An empty dst receives
// nothing, and reports Received if there was an item to receive.
func (m *Mailbox[T]) TryRecvMany(dst []*T) (int, Result) {
	for {
		seg, segID := segment.LoadHint(&m.headSeg) // before claiming
		s := m.snapshot()
		switch {
		case s.t&paused != 0:
			return 0, Paused
		case s.unreadable():
			return 0, Unreadable
		case s.count() == 0:
			return 0, Empty
		}
		n := min(len(dst), s.count())
		if n == 0 {
			return 0, Received
		}
		// The receipts claim slots s.h to s.h+n-1 and take effect here;
		// the CAS fails if the head word (its position, or its copy of the
		// flags) changed since the snapshot. The tail may have moved on
		// since: then there are more items at this instant than n takes,
		// which the spec allows, as in TrySendMany.
		if !m.head.CompareAndSwap(s.h, advance(s.h, uint64(n))) {
			continue
		}
		p := m.fullPos(segID, s.h&posMask)
		for i := range n {
			var sl *unsafe.Pointer
			seg, sl = m.segs.Locate(&m.headSeg, seg, p+uint64(i)) // as in TrySendMany
			dst[i] = m.take(sl)
		}
		for i := range n { // as in TrySendMany, for sleeping senders
			if w := m.wait.Load(); w == 0 || i > 0 && w&sendSleep == 0 {
				break
			}
			m.settle(received)
		}
		return n, Received
	}
}
