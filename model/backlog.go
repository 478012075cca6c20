package model

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/anishathalye/porcupine"
)

// BacklogOp names an operation of spec.Backlog in a recorded history.
type BacklogOp uint8

const (
	// BacklogLog is Handle of a record that carries ID.
	BacklogLog BacklogOp = iota
	// BacklogClose is Close(ctx) with a context that does not end.
	BacklogClose
	// BacklogResult reads, once a Close has returned, what the io.Writer
	// holds (the IDs of its whole records, in order) and the Stats.
	BacklogResult
)

// BacklogInput records the call of one backlog operation.
type BacklogInput struct {
	Op BacklogOp
	ID int // Log: the record's ID, unique in the history
	// MayDrop marks a Log that may be dropped: the backlog drops when
	// full, or the Handle's context ends.
	MayDrop bool
	// MayFail marks a call on a backlog whose io.Writer may fail.
	MayFail bool
}

// BacklogOutcome is what a Handle returned.
type BacklogOutcome uint8

const (
	// Accepted: nil.
	Accepted BacklogOutcome = iota
	// Dropped: ErrBacklogFull.
	Dropped
	// Refused: ErrBacklogClosed.
	Refused
	// WriteFailed: an error matching ErrBacklogWrite.
	WriteFailed
)

// BacklogOutput records the return of one backlog operation: Outcome for
// a Log; Err, a write error, for a Close; for a Result, the written IDs
// (Written, comma-separated, in order) and the Stats.
type BacklogOutput struct {
	Outcome                  BacklogOutcome
	Err                      bool
	Written                  string
	Failed, Dropped, Refused int
}

// BacklogState is the state of the porcupine model: whether the backlog
// is closed, whether its writer has failed as far as a caller has seen,
// the IDs of the accepted records in order (comma-separated, so that the
// state is immutable and comparable), and the records dropped and refused.
type BacklogState struct {
	Closed, Failed   bool
	Accepted         string
	Dropped, Refused int
}

func appendID(list string, id int) string {
	if list == "" {
		return strconv.Itoa(id)
	}
	return list + "," + strconv.Itoa(id)
}

func countIDs(list string) int {
	if list == "" {
		return 0
	}
	return strings.Count(list, ",") + 1
}

// isPrefix reports whether the ID list p is a prefix of the ID list l,
// whole IDs only.
func isPrefix(p, l string) bool {
	return p == "" || p == l || strings.HasPrefix(l, p+",")
}

// BacklogRef is the reference sequential backlog of spec.Backlog: the
// accepted records in order, and what became of the others.
type BacklogRef struct {
	State BacklogState
}

// Log applies one Handle that returned out; it reports whether the model
// allows it.
func (r *BacklogRef) Log(in BacklogInput, out BacklogOutcome) bool {
	ok, next := backlogStep(r.State, in, BacklogOutput{Outcome: out})
	if ok {
		r.State = next
	}
	return ok
}

// Backlog returns the porcupine model of spec.Backlog. The state is a
// BacklogState.
//
// A Log is Accepted only while the backlog is open and its writer has not
// failed, and its ID joins the accepted list; Dropped likewise, and only
// where the input may drop; Refused only once closed (a Handle refused for a write error returns it); WriteFailed only
// where the writer may fail, and from then on every Log is Refused or
// WriteFailed. Close closes (its Err needs MayFail). Result, legal only
// once closed, must show the accepted IDs written exactly once, in the
// order of acceptance, a prefix of them if the writer failed, with every
// other accepted record Failed, and Dropped and Refused as counted.
func Backlog() porcupine.Model {
	return porcupine.Model{
		Init: func() any { return BacklogState{} },
		Step: func(state, input, output any) (bool, any) {
			return backlogStep(state.(BacklogState), input.(BacklogInput), output.(BacklogOutput))
		},
		Equal:             func(a, b any) bool { return a.(BacklogState) == b.(BacklogState) },
		DescribeOperation: DescribeBacklogOp,
		DescribeState: func(state any) string {
			s := state.(BacklogState)
			return fmt.Sprintf("closed=%v failed=%v accepted=[%s] dropped=%d refused=%d", s.Closed, s.Failed, s.Accepted, s.Dropped, s.Refused)
		},
	}
}

func backlogStep(s BacklogState, in BacklogInput, out BacklogOutput) (bool, BacklogState) {
	switch in.Op {
	case BacklogLog:
		open := !s.Closed && !s.Failed
		switch out.Outcome {
		case Accepted:
			s.Accepted = appendID(s.Accepted, in.ID)
			return open, s
		case Dropped:
			s.Dropped++
			return open && in.MayDrop, s
		case Refused:
			s.Refused++
			return s.Closed, s
		case WriteFailed:
			s.Refused++
			s.Failed = true
			return in.MayFail, s
		}
		return false, s
	case BacklogClose:
		s.Closed = true
		return !out.Err || in.MayFail, s
	case BacklogResult:
		written := countIDs(out.Written)
		ok := s.Closed && isPrefix(out.Written, s.Accepted) &&
			written+out.Failed == countIDs(s.Accepted) &&
			(out.Failed == 0 || in.MayFail) &&
			out.Dropped == s.Dropped && out.Refused == s.Refused
		return ok, s
	}
	return false, s
}

// DescribeBacklogOp renders one backlog operation: "log(7) → accepted",
// "log(7, may drop) → dropped", "close() → ok", "close() → write error",
// "result() → written [1,2] failed 0 dropped 1 refused 0". A nil output
// describes a call that has not returned.
func DescribeBacklogOp(input, output any) string {
	in := input.(BacklogInput)
	var call string
	switch in.Op {
	case BacklogLog:
		call = fmt.Sprintf("log(%d", in.ID)
		if in.MayDrop {
			call += ", may drop"
		}
		call += ")"
	case BacklogClose:
		call = "close()"
	case BacklogResult:
		call = "result()"
	default:
		return fmt.Sprintf("backlog op %d", in.Op)
	}
	out, ok := output.(BacklogOutput)
	switch {
	case !ok:
		return call
	case in.Op == BacklogLog:
		names := [...]string{"accepted", "dropped", "refused", "write failed"}
		if int(out.Outcome) < len(names) {
			return call + " → " + names[out.Outcome]
		}
		return fmt.Sprintf("%s → outcome %d", call, out.Outcome)
	case in.Op == BacklogClose && out.Err:
		return call + " → write error"
	case in.Op == BacklogClose:
		return call + " → ok"
	}
	return fmt.Sprintf("%s → written [%s] failed %d dropped %d refused %d", call, out.Written, out.Failed, out.Dropped, out.Refused)
}
