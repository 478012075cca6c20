package model

import (
	"fmt"
	"strings"
)

// Continuations (spec/continuation.go) are checked by running small
// programs: a Program is what one continuation does, instruction after
// instruction, and the model says where each of its steps must run. A
// runner in linearize/campaign executes the same programs on real pools
// (impl/cont and impl/seq) and compares what happened with Trace.

// ContKind names an instruction of a continuation program.
type ContKind uint8

const (
	// ContWork is a step that does its work and records itself: its id and
	// where it ran.
	ContWork ContKind = iota
	// ContGoto moves the continuation to pool Pool: what follows runs there.
	ContGoto
	// ContComeFrom runs Sub on pool Pool as a continuation of its own, to
	// its end; the caller waits, then goes on where it was.
	ContComeFrom
	// ContNovelThread runs Sub on a runtime spawned for it, which is no
	// pool's; the caller waits, then goes on where it was.
	ContNovelThread
	// ContCoop is a cooperative point: nothing moves, nothing is recorded.
	ContCoop
	contKinds
)

var contKindNames = [contKinds]string{"work", "goto", "comefrom", "novel", "coop"}

func (k ContKind) String() string {
	if k < contKinds {
		return contKindNames[k]
	}
	return fmt.Sprintf("ContKind(%d)", uint8(k))
}

// Where is where a step runs: a pool's index (0, 1, ...), or Novel.
type Where int

// Novel is the place of a step run by a runtime spawned by NovelThread,
// which belongs to no pool.
const Novel Where = -1

func (w Where) String() string {
	if w == Novel {
		return "novel"
	}
	return fmt.Sprintf("pool %d", int(w))
}

// ContInstr is one instruction of a continuation program.
type ContInstr struct {
	Kind ContKind
	Step int         // ContWork: the step's id, unique in its program
	Pool int         // ContGoto, ContComeFrom: the pool
	Sub  []ContInstr // ContComeFrom, ContNovelThread: the remote part
}

// ContEvent is one step that ran: its id and where.
type ContEvent struct {
	Step  int
	Where Where
}

func (e ContEvent) String() string { return fmt.Sprintf("step %d on %v", e.Step, e.Where) }

// ContTrace returns the steps program runs, in order and where each runs,
// when the continuation starts at start: the rules of spec/continuation.go
// for a continuation that one goroutine at a time runs. A Goto changes
// where the rest runs; a ComeFrom's remote part starts on its pool, a
// NovelThread's on Novel, and either may move in turn, but the caller
// resumes where it was once the remote part has ended. Every step runs
// exactly once, in program order (the caller waits while its remote part
// runs, so the remote part's steps come between the caller's).
func ContTrace(start Where, program []ContInstr) []ContEvent {
	var out []ContEvent
	var walk func(at Where, prog []ContInstr)
	walk = func(at Where, prog []ContInstr) {
		for _, in := range prog {
			switch in.Kind {
			case ContWork:
				out = append(out, ContEvent{Step: in.Step, Where: at})
			case ContGoto:
				at = Where(in.Pool)
			case ContComeFrom:
				walk(Where(in.Pool), in.Sub) // at is unchanged: the caller resumes here
			case ContNovelThread:
				walk(Novel, in.Sub)
			case ContCoop:
			default:
				panic(fmt.Sprintf("model: unknown continuation instruction %v", in.Kind))
			}
		}
	}
	walk(start, program)
	return out
}

// FormatCont renders a program on one line, for messages: work(3),
// goto(1), comefrom(2){...}, novel{...}, coop.
func FormatCont(program []ContInstr) string {
	var b strings.Builder
	var walk func(prog []ContInstr)
	walk = func(prog []ContInstr) {
		for i, in := range prog {
			if i > 0 {
				b.WriteString("; ")
			}
			switch in.Kind {
			case ContWork:
				fmt.Fprintf(&b, "work(%d)", in.Step)
			case ContGoto:
				fmt.Fprintf(&b, "goto(%d)", in.Pool)
			case ContComeFrom:
				fmt.Fprintf(&b, "comefrom(%d){", in.Pool)
				walk(in.Sub)
				b.WriteString("}")
			case ContNovelThread:
				b.WriteString("novel{")
				walk(in.Sub)
				b.WriteString("}")
			default:
				b.WriteString(in.Kind.String())
			}
		}
	}
	walk(program)
	return b.String()
}
