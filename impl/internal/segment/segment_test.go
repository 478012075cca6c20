package segment

import (
	"sync"
	"testing"
	"unsafe"

	"github.com/insideout-go/insideout/impl/seam"
	"go.uber.org/goleak"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The layout claims: a segment fills the 8192-byte size class without
// spilling into the next one, and the row/column permutation is a
// bijection that puts consecutive positions on different cache lines. A
// bigger header or a wrong permutation breaks one of them.
func TestLayout(t *testing.T) {
	if size := unsafe.Sizeof(Segment{}); size > 8192 || size < 8192-64 {
		t.Fatalf("a segment is %d bytes; it must fit the 8192-byte size class snugly", size)
	}
	s := new(Segment)
	seen := map[*unsafe.Pointer]uint64{}
	for i := range uint64(Slots) {
		p := s.Slot(i)
		if j, dup := seen[p]; dup {
			t.Fatalf("positions %d and %d share a slot", j, i)
		}
		seen[p] = i
		if i > 0 {
			a, b := uintptr(unsafe.Pointer(s.Slot(i-1))), uintptr(unsafe.Pointer(p))
			if a/64 == b/64 {
				t.Fatalf("consecutive positions %d and %d share a cache line", i-1, i)
			}
		}
	}
}

// Find walks forward, creates each missing segment once even when many
// goroutines race to create it, and moves the hint forward only.
func TestFindRaces(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	first := new(Segment)
	var hint seam.Pointer[Segment]
	hint.Store(first)
	found := make([]*Segment, 8)
	var wg sync.WaitGroup
	for g := range found {
		wg.Go(func() { found[g] = Find(&hint, first, 5*Slots+uint64(g)) })
	}
	wg.Wait()
	for _, s := range found {
		if s != found[0] || s.ID != 5 {
			t.Fatalf("goroutines found different segments for segment 5: racing creators linked two copies")
		}
	}
	if hint.Load() != found[0] {
		t.Fatal("the hint did not move to the segment found")
	}
	if Find(&hint, first, 2*Slots).ID != 2 || hint.Load() != found[0] {
		t.Fatal("finding an earlier segment moved the hint backwards")
	}
	n := 0
	for s := first; s != nil; s = s.next.Load() {
		n++
	}
	if n != 6 {
		t.Fatalf("%d segments linked, want 6", n)
	}
}

// Locate walking consecutive positions, from the segment it returned for
// the one before, finds the slots that Find and Slot find, across
// segment boundaries. It would catch a Locate that kept the first segment
// past its end (its offset test wrong) or computed the offset of the
// wrong segment.
func TestLocate(t *testing.T) {
	first := new(Segment)
	var hint, hint2 seam.Pointer[Segment]
	hint.Store(first)
	hint2.Store(first)
	s := first
	for i := range uint64(3*Slots + 5) {
		var p *unsafe.Pointer
		s, p = Locate(&hint, s, i)
		want := Find(&hint2, first, i)
		if s != want || p != want.Slot(i) {
			t.Fatalf("position %d: Locate gave segment %d, slot %p; Find and Slot give segment %d, slot %p", i, s.ID, p, want.ID, want.Slot(i))
		}
	}
}

// TestLocateMakesTheNextSegmentAhead checks that a walk through eager
// segments makes each next segment at offset ahead, not before, and makes
// it eager too; and that a walk through segments that are not eager makes
// none ahead. Were the next segment made only by whoever first needs it,
// concurrent senders crossing the end of a segment would each allocate
// one (a third of the segments a filling mailbox made were waste); were
// it made ahead everywhere, every mailbox that has moved past offset
// ahead would keep two segments while idle.
func TestLocateMakesTheNextSegmentAhead(t *testing.T) {
	for _, eager := range []bool{false, true} {
		first := new(Segment)
		first.eager.Store(eager)
		var hint seam.Pointer[Segment]
		hint.Store(first)
		s := first
		for i := range uint64(3 * Slots) {
			s, _ = Locate(&hint, s, i)
			k := i % Slots
			next := s.next.Load()
			switch {
			case (!eager || k < ahead) && next != nil:
				t.Fatalf("eager %v, position %d (offset %d): segment %d has its next already", eager, i, k, s.ID)
			case eager && k >= ahead && (next == nil || next.ID != s.ID+1 || !next.eager.Load()):
				t.Fatalf("eager %v, position %d (offset %d): segment %d has no eager next", eager, i, k, s.ID)
			}
		}
	}
}

// TestLinkLoserMakesEager checks that losing the race to link a segment
// makes the winner eager, and that winning does not: eagerness must start
// where making is contended, and only there.
func TestLinkLoserMakesEager(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	s := new(Segment)
	a, b := &Segment{ID: 1}, &Segment{ID: 1}
	if got := s.link(a); got != a || a.eager.Load() {
		t.Fatalf("the first link returned %p (eager %v), want %p, not eager", got, got.eager.Load(), a)
	}
	if got := s.link(b); got != a || !a.eager.Load() || b.eager.Load() {
		t.Fatalf("the losing link returned %p, eager %v; want %p, made eager", got, got.eager.Load(), a)
	}
}
