package queue

import "github.com/insideout-go/insideout/impl/chaos"

// short says that the long tests move fewer items: under -race every
// atomic operation costs some twenty times more, and under -tags chaos
// every switch point may pause.
const short = raceEnabled || chaos.Enabled

// Short is short, for the package's external tests.
const Short = short

// NewSpan returns an empty queue whose segments hold span positions, for
// the package's external tests: with a few, a short scenario crosses and
// recycles segments.
func NewSpan(span int) *Queue[int] { return newSpan[int](span) }
