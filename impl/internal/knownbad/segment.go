package knownbad

import "sync/atomic"

// SegmentRecyclesEarly makes impl/internal/segment's reclaimer recycle a
// segment as soon as every hint has moved past it and nobody has it
// pinned, without looking at its slots: an operation that claimed a
// position in it and was descheduled before writing its slot then writes
// into the segment's next life, where the item is lost or comes out in
// the wrong place, or finds its position's segment gone. It is the bug
// that reclamation without the collector must not have.
var SegmentRecyclesEarly atomic.Bool
