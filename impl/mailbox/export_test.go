package mailbox

import "github.com/insideout-go/insideout/impl/chaos"

// short says that the long tests move fewer items: under -race every
// atomic operation costs some twenty times more, and under -tags chaos
// every switch point may pause.
const short = raceEnabled || chaos.Enabled

// NewSpan returns an empty mailbox of capacity capacity whose segments
// hold span positions, for the package's external tests: with a few, a
// short scenario crosses and recycles segments.
func NewSpan(capacity, span int) *Mailbox[int] { return newSpan[int](capacity, span) }
