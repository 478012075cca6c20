package segment

import (
	"unsafe"

	"github.com/insideout-go/insideout/impl/seam"
)

// recycling returns a list of span-1 segments that recycles, and its
// hints.
func recycling() (*List, *seam.Pointer[Segment], *seam.Pointer[Segment]) {
	l := new(List)
	tail, head := new(seam.Pointer[Segment]), new(seam.Pointer[Segment])
	l.InitSpan([2]unsafe.Pointer{fin, fin}, tail, head, 1)
	return l, tail, head
}
