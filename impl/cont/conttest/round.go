// Package conttest checks continuations (impl/cont, impl/seq) and the
// pools that run them: random programs of Goto, ComeFrom, NovelThread and
// Coop (model.ContInstr) over random topologies of pools, several programs
// at once in the same mailboxes, written as step continuations and as
// sequential ones. Check runs rounds of them and requires that every step
// of every program ran exactly once, in program order, on the pool the
// program says (model.ContTrace), and that no two steps of a program ever
// ran at once. It is not a linearizability check, but it reports like one:
// a round is a history, a program that went wrong counts as Illegal, a
// lost continuation as a hang. `insideout verify` runs it as the
// continuation campaign.
package conttest

import (
	"fmt"
	"strings"

	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// Form is how a program is written.
type Form uint8

const (
	// FormSteps: step continuations (cont.Goto, cont.ComeFrom,
	// cont.NovelThread, c.Coop; cont.NewCall for remote parts that move).
	FormSteps Form = iota
	// FormSeq: a sequential continuation (seq.New, k.Goto, seq.ComeFrom,
	// seq.NovelThread, k.Coop).
	FormSeq
	// FormMixed: step continuations whose remote parts are sequential
	// ones, started with cont.NewCall.
	FormMixed
	contForms
)

var contFormNames = [contForms]string{"steps", "seq", "mixed"}

func (f Form) String() string { return contFormNames[f%contForms] }

// Pool is one pool of a topology.
type Pool struct {
	Workers  int  // 1 to 3
	Cap      int  // the mailbox's capacity, or spec.Unbounded
	OSThread bool // workers on OS threads of their own (rt.OSThread)
}

// Program is one program of a round: what one continuation does,
// starting on pool Start.
type Program struct {
	Start int
	Form  Form
	Body  []model.ContInstr
}

// Round is one round: a topology, and programs that run on it at
// once.
type Round struct {
	Pools    []Pool
	Programs []Program
}

// Ops returns the round's operations, as the summary counts them: the
// programs' top-level instructions (a ComeFrom or NovelThread counts as
// one, whatever its remote part holds).
func (r Round) Ops() int {
	n := 0
	for _, p := range r.Programs {
		n += len(p.Body)
	}
	return n
}

// String renders the round: the pools, then each program on a line.
func (r Round) String() string {
	var b strings.Builder
	b.WriteString("    pools:")
	for i, p := range r.Pools {
		fmt.Fprintf(&b, " %d: %d worker(s), ", i, p.Workers)
		if p.Cap == spec.Unbounded {
			b.WriteString("unbounded")
		} else {
			fmt.Fprintf(&b, "capacity %d", p.Cap)
		}
		if p.OSThread {
			b.WriteString(", OS threads")
		}
		b.WriteString(";")
	}
	for i, p := range r.Programs {
		fmt.Fprintf(&b, "\n    program %d (%v, starts on pool %d): %s", i, p.Form, p.Start, model.FormatCont(p.Body))
	}
	return b.String()
}

// Generation limits: remote parts nest at most contMaxDepth deep and hold
// 1 to contMaxSub instructions.
const (
	contMaxDepth = 2
	contMaxSub   = 3
)

// Two parts of the language found real bugs of impl/ when they were first
// generated; each has a regression test of its own in
// continuation_test.go. The switches stay, so that a bisection can leave
// either part out of generated rounds.
const (
	// remoteMoves: a remote part (of ComeFrom or NovelThread) may Goto.
	// TestContRemotePartThatMoves: a remote part that moved was never
	// seen to finish, and its caller waited for good (the move dropped
	// cont.NewCall's wrapper of the child's steps).
	remoteMoves = true
	// seqOnOSThreads: sequential programs (FormSeq, FormMixed) in rounds
	// with OS-thread pools. TestContSeqAcrossOSThreads: a sequential
	// continuation resumed on a thread locked differently from where its
	// coroutine was made killed the process (Go's fatal error "coro: OS
	// thread locking must match locking at coroutine creation").
	seqOnOSThreads = true
)

// GenRound draws a round of programs programs of instrs top-level
// instructions each, every choice from intn (which returns a number in
// [0, n)): linearize.Gen's Intn for seeded and rapid programs, a byte
// decoder for fuzzing. Every round it makes can run to its end, whatever
// the choices:
//
//   - a worker waiting for a remote part (ComeFrom, NovelThread) holds its
//     worker, so a remote part (and whatever it calls in turn, and
//     wherever it moves) only ever runs on pools numbered above every pool
//     that its callers hold: resources taken in one order cannot deadlock;
//   - a program occupies at most one worker of a pool and one mailbox slot
//     at a time (by the rule above), so a bounded mailbox gets a capacity
//     above programs minus its workers: when it is full some worker of its
//     pool is free to take from it, and a send that waits (spec: it waits
//     with its step's context, which nothing ends here) always ends.
func GenRound(intn func(n int) int, programs, instrs int) Round {
	var r Round
	pick := func(n int) int {
		if n <= 1 {
			return 0
		}
		return intn(n)
	}
	np := 2 + pick(3)
	for range np {
		p := Pool{Workers: 1 + pick(3), Cap: spec.Unbounded}
		if pick(3) == 0 {
			p.Cap = max(1, programs-p.Workers+1) + pick(2)
		}
		p.OSThread = pick(16) == 15
		r.Pools = append(r.Pools, p)
	}
	osThreads := false
	for _, p := range r.Pools {
		osThreads = osThreads || p.OSThread
	}
	for range programs {
		start := pick(np)
		form := Form(pick(int(contForms)))
		if osThreads && !seqOnOSThreads {
			form = FormSteps
		}
		step := 0
		body := genContBody(pick, np, -1, model.Where(start), 0, instrs, &step)
		r.Programs = append(r.Programs, Program{Start: start, Form: form, Body: body})
	}
	return r
}

// genContBody draws n instructions for a continuation at cur whose callers
// hold workers of pools up to held (-1: none); step numbers the work.
func genContBody(pick func(int) int, np, held int, cur model.Where, depth, n int, step *int) []model.ContInstr {
	var out []model.ContInstr
	for range n {
		// Weights: work 4, goto 2, comefrom 2, novel 1, coop 1.
		k := pick(10)
		lo := held + 1 // a Goto's lowest pool
		callee := max(held, int(cur)) + 1
		switch {
		case k < 4:
		case k < 6 && lo < np && (depth == 0 || remoteMoves):
			p := lo + pick(np-lo)
			out = append(out, model.ContInstr{Kind: model.ContGoto, Pool: p})
			cur = model.Where(p)
			continue
		case k < 8 && callee < np && depth < contMaxDepth:
			p := callee + pick(np-callee)
			sub := genContBody(pick, np, callee-1, model.Where(p), depth+1, 1+pick(contMaxSub), step)
			out = append(out, model.ContInstr{Kind: model.ContComeFrom, Pool: p, Sub: sub})
			continue
		case k == 8 && depth < contMaxDepth:
			sub := genContBody(pick, np, callee-1, model.Novel, depth+1, 1+pick(contMaxSub), step)
			out = append(out, model.ContInstr{Kind: model.ContNovelThread, Sub: sub})
			continue
		case k == 9:
			out = append(out, model.ContInstr{Kind: model.ContCoop})
			continue
		}
		*step++
		out = append(out, model.ContInstr{Kind: model.ContWork, Step: *step})
	}
	return out
}
