package model

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// PoolOp names an operation on a pool in a recorded history. The pool's
// workers take jobs (continuations of a few steps that count their
// completions) from its mailbox; clients submit jobs, change the set of
// workers, control single workers and read the count of completed jobs.
type PoolOp uint8

const (
	PoolSubmit    PoolOp = iota // send one job to the pool's mailbox
	PoolAdd                     // Add: one more worker
	PoolDrain                   // Drain: one worker fewer, if any
	PoolCount                   // Count
	PoolDone                    // a read of the count of completed jobs
	PoolHalt                    // Halt every worker
	PoolInterrupt               // Interrupt every worker
	PoolFreeze                  // Freeze one worker
	PoolThaw                    // Thaw one worker
	PoolCancel                  // Cancel one worker
	PoolEject                   // Eject one worker's dispatcher, to run on elsewhere
	PoolAudit                   // once quiescent: where every job ended up
	poolOps
)

var poolNames = [poolOps]string{"submit", "add", "drain", "count", "done", "halt", "interrupt", "freeze", "thaw", "cancel", "eject", "audit"}

// PoolInput records the call of one pool operation; Worker picks the
// worker of the single-worker operations (an index into the pool's
// workers, modulo their number).
type PoolInput struct {
	Op     PoolOp
	Worker int
}

// PoolOutput records its return: OK for Submit, Add, Drain (a worker was
// removed) and the single-worker operations; N for Count and Done; for
// Audit, where the jobs are once every worker has stopped: completed
// (Done), in the middle when their worker stopped (Left), still in the
// mailbox (Inbox), and how many completed more than once or ran a step
// after completing (Dup).
type PoolOutput struct {
	OK                     bool
	N                      int
	Done, Left, Inbox, Dup int
}

// poolState is the model's state: the workers the pool holds, the jobs
// accepted, and the completions last read.
type poolState struct {
	workers, accepted, done int
}

// Pool returns the porcupine model of a pool, starting with workers
// workers, whose mailbox accepts every job while the clients run.
//
// Its rules: Count is the number of workers added less those drained;
// Drain removes one if there is one; the count of completed jobs never
// goes back and never exceeds the jobs accepted; and the audit accounts
// for every accepted job exactly once: completed, or in the middle when
// its worker stopped, or still in the mailbox, none of them twice.
// Single-worker controls, Halt and Interrupt change none of this: they
// may delay jobs, never lose or repeat one.
func Pool(workers int) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return poolState{workers: workers} },
		Step: func(state, input, output any) (bool, any) {
			s, in, out := state.(poolState), input.(PoolInput), output.(PoolOutput)
			switch in.Op {
			case PoolSubmit:
				if !out.OK {
					return false, s
				}
				s.accepted++
			case PoolAdd:
				if !out.OK {
					return false, s
				}
				s.workers++
			case PoolDrain:
				if out.OK != (s.workers > 0) {
					return false, s
				}
				if out.OK {
					s.workers--
				}
			case PoolCount:
				return out.N == s.workers, s
			case PoolDone:
				if out.N < s.done || out.N > s.accepted {
					return false, s
				}
				s.done = out.N
			case PoolAudit:
				if out.Dup != 0 || out.Done < s.done || out.Done+out.Left+out.Inbox != s.accepted {
					return false, s
				}
				s.done = out.Done
			}
			return true, s
		},
		DescribeOperation: func(input, output any) string { return DescribePoolOp(input, output) },
		DescribeState: func(state any) string {
			s := state.(poolState)
			return fmt.Sprintf("%d workers, %d jobs accepted, %d seen done", s.workers, s.accepted, s.done)
		},
	}
}

// DescribePoolOp renders one pool operation, such as "freeze(#1) → true"
// or "audit() → done 7, left 1, inbox 2, dup 0".
func DescribePoolOp(input, output any) string {
	in := input.(PoolInput)
	call := poolNames[in.Op] + "()"
	switch in.Op {
	case PoolFreeze, PoolThaw, PoolCancel, PoolEject:
		call = fmt.Sprintf("%s(#%d)", poolNames[in.Op], in.Worker)
	}
	out, ok := output.(PoolOutput)
	if !ok {
		return call
	}
	switch in.Op {
	case PoolCount, PoolDone:
		return fmt.Sprintf("%s → %d", call, out.N)
	case PoolAudit:
		return fmt.Sprintf("%s → done %d, left %d, inbox %d, dup %d", call, out.Done, out.Left, out.Inbox, out.Dup)
	case PoolHalt, PoolInterrupt:
		return call
	}
	return fmt.Sprintf("%s → %v", call, out.OK)
}
