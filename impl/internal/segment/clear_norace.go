//go:build !race

package segment

// clearSlots empties the slots of a segment taken from the free list,
// before it is linked again. The only access that can meet it is a
// consumer's peek at a slot of a segment it checked the ID of just before
// (impl/queue's emptyAt), which reads either value and uses what it reads
// as a hint only; a plain clear is one memclr.
func (s *Segment) clearSlots() { clear(s.slots[:]) }
