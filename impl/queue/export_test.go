package queue

// NewSpan returns an empty queue whose segments hold span positions, for
// the package's external tests: with a few, a short scenario crosses and
// recycles segments.
func NewSpan(span int) *Queue[int] { return newSpan[int](span) }
