package model

import (
	"fmt"

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

// BacklogOutput records the return of one backlog operation: for a Log,
// its Outcome and Pos; for a Close, Err (a write error); for a Result,
// the counts.
type BacklogOutput struct {
	Outcome BacklogOutcome
	// Pos, for a Log, points at the index among the io.Writer's whole
	// records of the one that carries the Log's ID, or at -1 if there is
	// none; nil means -1. A record is written after its Handle returns, so
	// the harness fills Pos in once the Result is read, before the history
	// is checked: the model then sees where each record went.
	Pos *int
	Err bool
	// For a Result: Written, the whole records the io.Writer holds; Stray,
	// those no Log's Pos points at (a duplicate, or a record with an ID no
	// Log handed in); Failed, Dropped and Refused, the Stats.
	Written, Stray           int
	Failed, Dropped, Refused int
}

// BacklogState is the state of the porcupine model: whether the backlog
// is closed, whether its writer has failed as far as a caller has seen,
// the accepted records found written (Next: they are the first Next whole
// records, in the order of acceptance) and not found (Unwritten), and the
// records dropped and refused. Histories that accept the same records in
// different orders reach the same states, which keeps the check fast.
type BacklogState struct {
	Closed, Failed   bool
	Next, Unwritten  int
	Dropped, Refused int
}

func pos(out BacklogOutput) int {
	if out.Pos == nil {
		return -1
	}
	return *out.Pos
}

// BacklogRef is the reference sequential backlog of spec.Backlog: the
// accepted records in order, and what became of the others.
type BacklogRef struct {
	Closed           bool
	Accepted         []int
	Dropped, Refused int
}

// Log applies a Handle of id that returned out; it reports whether the
// rules allow out (an Accepted or Dropped on a closed backlog, a Refused
// on an open one, do not change the reference). WriteFailed is taken as
// Refused: the reference has no writer to fail.
func (r *BacklogRef) Log(id int, out BacklogOutcome) bool {
	switch {
	case out == Refused || out == WriteFailed:
		if !r.Closed && out == Refused {
			return false
		}
		r.Refused++
	case r.Closed:
		return false
	case out == Accepted:
		r.Accepted = append(r.Accepted, id)
	case out == Dropped:
		r.Dropped++
	default:
		return false
	}
	return true
}

// Check compares, after Close, the whole records written (their IDs, in
// order) and the Stats with the reference: the records written are the
// first of those accepted, in order, each once, and every other accepted
// record is Failed; failed must be 0 unless mayFail.
func (r *BacklogRef) Check(written []int, failed, dropped, refused int, mayFail bool) error {
	switch {
	case len(written) > len(r.Accepted):
		return fmt.Errorf("%d records written, %d accepted", len(written), len(r.Accepted))
	case len(written)+failed != len(r.Accepted):
		return fmt.Errorf("%d accepted: %d written and %d failed", len(r.Accepted), len(written), failed)
	case failed > 0 && !mayFail:
		return fmt.Errorf("%d failed with a writer that does not fail", failed)
	case dropped != r.Dropped || refused != r.Refused:
		return fmt.Errorf("dropped %d, refused %d: want %d and %d", dropped, refused, r.Dropped, r.Refused)
	}
	for i, id := range written {
		if id != r.Accepted[i] {
			return fmt.Errorf("record %d written is id %d, want %d (accepted %v)", i, id, r.Accepted[i], r.Accepted)
		}
	}
	return nil
}

// Backlog returns the porcupine model of spec.Backlog. The state is a
// BacklogState.
//
// A Log is Accepted only while the backlog is open and its writer has not
// failed: if its record was found written (Pos), it must be the next whole
// record, with no accepted record missing before it; if not, it joins the
// unwritten. Dropped likewise needs an open backlog, and an input that
// may drop; Refused a closed backlog; WriteFailed an input whose writer may
// fail, and from then on every Log is Refused or WriteFailed. A record not
// accepted must not be found written. Close closes (an Err needs
// MayFail). Result, legal only once closed, must show exactly the records
// found written, no stray one, every unwritten record Failed (which needs
// MayFail), and Dropped and Refused as counted.
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
			return fmt.Sprintf("closed=%v failed=%v written=%d unwritten=%d dropped=%d refused=%d", s.Closed, s.Failed, s.Next, s.Unwritten, s.Dropped, s.Refused)
		},
	}
}

func backlogStep(s BacklogState, in BacklogInput, out BacklogOutput) (bool, BacklogState) {
	switch in.Op {
	case BacklogLog:
		open := !s.Closed && !s.Failed
		p := pos(out)
		switch out.Outcome {
		case Accepted:
			if p < 0 {
				s.Unwritten++
				return open, s
			}
			ok := open && s.Unwritten == 0 && p == s.Next
			s.Next++
			return ok, s
		case Dropped:
			s.Dropped++
			return open && in.MayDrop && p < 0, s
		case Refused:
			s.Refused++
			return s.Closed && p < 0, s
		case WriteFailed:
			s.Refused++
			s.Failed = true
			return in.MayFail && p < 0, s
		}
		return false, s
	case BacklogClose:
		s.Closed = true
		return !out.Err || in.MayFail, s
	case BacklogResult:
		ok := s.Closed && out.Written == s.Next && out.Stray == 0 &&
			out.Failed == s.Unwritten && (out.Failed == 0 || in.MayFail) &&
			out.Dropped == s.Dropped && out.Refused == s.Refused
		return ok, s
	}
	return false, s
}

// DescribeBacklogOp renders one backlog operation: "log(7) → accepted",
// "log(7, may drop) → dropped", "log(8) → accepted, written 3", "close() → ok", "close() → write error",
// "result() → written 2 stray 0 failed 0 dropped 1 refused 0". A nil output
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
		res := fmt.Sprintf("outcome %d", out.Outcome)
		if int(out.Outcome) < len(names) {
			res = names[out.Outcome]
		}
		if p := pos(out); p >= 0 {
			return fmt.Sprintf("%s → %s, written %d", call, res, p)
		}
		return call + " → " + res
	case in.Op == BacklogClose && out.Err:
		return call + " → write error"
	case in.Op == BacklogClose:
		return call + " → ok"
	}
	return fmt.Sprintf("%s → written %d stray %d failed %d dropped %d refused %d", call, out.Written, out.Stray, out.Failed, out.Dropped, out.Refused)
}
