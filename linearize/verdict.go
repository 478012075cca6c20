package linearize

// Verdict is the outcome of checking one recorded history against a model.
type Verdict uint8

const (
	// Ok: the history is linearizable; some order of its operations,
	// consistent with their real-time order, is a legal sequential run of
	// the model.
	Ok Verdict = iota
	// Illegal: no such order exists. The implementation is wrong (or the
	// model is): this is a failure, and the checker writes a visualization
	// of the longest legal prefixes for the person who must find out which.
	Illegal
	// Unknown: the checker ran out of time before deciding. Unknown is
	// never counted as a pass: a campaign that produces Unknown verdicts
	// fails, and the remedy is shorter histories or a longer time limit.
	Unknown
)

// String returns "Ok", "Illegal" or "Unknown".
func (v Verdict) String() string {
	switch v {
	case Ok:
		return "Ok"
	case Illegal:
		return "Illegal"
	case Unknown:
		return "Unknown"
	}
	return "Verdict(?)"
}
