//go:build race

package segment

import "github.com/insideout-go/insideout/impl/seam"

// clearSlots empties the slots of a segment taken from the free list. The
// race detector would report a plain clear beside a consumer's atomic
// peek (see clear_norace.go), which is harmless; under -race the clear is
// atomic, slot by slot.
func (s *Segment) clearSlots() {
	for k := range uint64(s.span) {
		seam.StorePointer(s.at(k), nil)
	}
}
