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

// PoolRef is the reference sequential pool of spec.Pool, its members:
// M names a member (a test's handle on a runtime, with its RuntimeRef).
// Adding appends, Drain takes the newest, Clear takes all; the members
// that left are kept apart, in the order they left.
type PoolRef[M comparable] struct {
	members, gone []M
}

// Add appends ms, all or none: it reports false, adding nothing, if one of
// them is a member already or appears twice.
func (p *PoolRef[M]) Add(ms ...M) bool {
	seen := map[M]bool{}
	for _, m := range p.members {
		seen[m] = true
	}
	for _, m := range ms {
		if seen[m] {
			return false
		}
		seen[m] = true
	}
	p.members = append(p.members, ms...)
	return true
}

// Drain removes the newest member and returns it; ok is false, and
// nothing changes, if there is none.
func (p *PoolRef[M]) Drain() (m M, ok bool) {
	if len(p.members) == 0 {
		return m, false
	}
	m = p.members[len(p.members)-1]
	p.members = p.members[:len(p.members)-1]
	p.gone = append(p.gone, m)
	return m, true
}

// Clear removes every member.
func (p *PoolRef[M]) Clear() {
	p.gone = append(p.gone, p.members...)
	p.members = nil
}

// Count returns the number of members.
func (p *PoolRef[M]) Count() int { return len(p.members) }

// Items returns the members, oldest first (a copy).
func (p *PoolRef[M]) Items() []M { return append([]M(nil), p.members...) }

// Gone returns the runtimes that left, by Drain or Clear (a copy).
func (p *PoolRef[M]) Gone() []M { return append([]M(nil), p.gone...) }

// All returns the members, then those that left: every runtime whose
// leftovers Leftovers reports.
func (p *PoolRef[M]) All() []M { return append(p.Items(), p.gone...) }

// RunnerPoolRef is the reference of a pool of runners over one mailbox,
// by counts: the jobs queued, the runners alive and waiting for a job, and
// the jobs completed (each by a runner that then ended). A runner and a
// job meet at once: no job is queued while a runner waits.
type RunnerPoolRef struct {
	Queued, Alive, Completed int
}

// Send sends a job: a waiting runner takes it, completes it and ends, or
// it is queued.
func (r *RunnerPoolRef) Send() {
	if r.Alive > 0 {
		r.Alive--
		r.Completed++
		return
	}
	r.Queued++
}

// Add adds a runner: it takes a queued job, completes it and ends, or
// waits.
func (r *RunnerPoolRef) Add() {
	if r.Queued > 0 {
		r.Queued--
		r.Completed++
		return
	}
	r.Alive++
}

// Dead returns the runners that ended: one per completed job.
func (r *RunnerPoolRef) Dead() int { return r.Completed }

// Count returns the runners in the pool, dead ones included.
func (r *RunnerPoolRef) Count() int { return r.Alive + r.Completed }

// PoolLedger accounts for the jobs sent to a pool: each is numbered when
// sent, its completions are counted, and Audit checks that each is in
// exactly one place once the pool's workers have stopped.
type PoolLedger struct {
	completions []int
}

// Send numbers a new job.
func (l *PoolLedger) Send() int {
	l.completions = append(l.completions, 0)
	return len(l.completions) - 1
}

// Sent returns the number of jobs sent.
func (l *PoolLedger) Sent() int { return len(l.completions) }

// Complete counts a completion of job id.
func (l *PoolLedger) Complete(id int) { l.completions[id]++ }

// Completed returns the number of jobs completed at least once.
func (l *PoolLedger) Completed() int {
	n := 0
	for _, c := range l.completions {
		if c > 0 {
			n++
		}
	}
	return n
}

// Audit checks that every job sent is in exactly one place: completed
// exactly once, or still queued (in queued), or left in the middle when
// its worker stopped (in left); and that queued and left name only jobs
// sent. It returns nil, or what is wrong with the first job that is not.
func (l *PoolLedger) Audit(queued, left []int) error {
	where := make([][]string, len(l.completions))
	for _, b := range []struct {
		name string
		ids  []int
	}{{"queued", queued}, {"left over", left}} {
		for _, id := range b.ids {
			if id < 0 || id >= len(l.completions) {
				return fmt.Errorf("job %d is %s, but was never sent", id, b.name)
			}
			where[id] = append(where[id], b.name)
		}
	}
	for id, c := range l.completions {
		switch {
		case c == 1:
			where[id] = append(where[id], "completed")
		case c > 1:
			where[id] = append(where[id], fmt.Sprintf("completed %d times", c))
		}
		if len(where[id]) != 1 || c > 1 {
			return fmt.Errorf("job %d is in %d places %v, want exactly one (of %d sent: %d completed, %d queued, %d left over)",
				id, len(where[id]), where[id], len(l.completions), l.Completed(), len(queued), len(left))
		}
	}
	return nil
}
