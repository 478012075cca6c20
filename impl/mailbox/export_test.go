package mailbox

// NewSpan returns an empty mailbox of capacity capacity whose segments
// hold span positions, for the package's external tests: with a few, a
// short scenario crosses and recycles segments.
func NewSpan(capacity, span int) *Mailbox[int] { return newSpan[int](capacity, span) }
