package conttest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/cont/conttest"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
	"pgregory.net/rapid"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Random programs over random topologies on pool.Waiter: every step once,
// in order, on its pool, never two at once, nothing left over.
func TestContinuations(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	conttest.Check{Rounds: 300}.Test(t)
}

// The same, with programs drawn and shrunk by rapid: a failure is reported
// as the smallest round rapid finds.
func TestContinuationsRapid(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(t *rapid.T) {
		programs := rapid.IntRange(1, 6).Draw(t, "programs")
		instrs := rapid.IntRange(1, 8).Draw(t, "instrs")
		r := conttest.GenRound(linearize.RapidGen(t).Intn, programs, instrs)
		// A short deadline: shrinking runs a failing round many times.
		if res := conttest.RunRound(r, conttest.Options{Deadline: 3 * time.Second}); res.Failed() {
			t.Fatalf("%s\n%s", strings.Join(res.Problems, "\n"), r)
		}
	})
}

// The generator's promises, on which the runner's verdicts rest: a round
// that could deadlock by its own design would be reported as lost against
// a correct runtime.
func TestGenContRound(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(t *rapid.T) {
		programs := rapid.IntRange(0, 8).Draw(t, "programs")
		instrs := rapid.IntRange(0, 10).Draw(t, "instrs")
		r := conttest.GenRound(linearize.RapidGen(t).Intn, programs, instrs)
		// The bug: a topology out of range (one pool, no worker, a
		// mailbox of capacity 0 or too small to be sure to drain).
		if len(r.Pools) < 2 || len(r.Pools) > 4 {
			t.Fatalf("%d pools, want 2 to 4", len(r.Pools))
		}
		for i, p := range r.Pools {
			if p.Workers < 1 || p.Workers > 3 {
				t.Fatalf("pool %d: %d workers, want 1 to 3", i, p.Workers)
			}
			if p.Cap != spec.Unbounded && p.Cap < max(1, programs-p.Workers+1) {
				t.Fatalf("pool %d: capacity %d with %d workers and %d programs: a full mailbox could have no free worker", i, p.Cap, p.Workers, programs)
			}
		}
		if len(r.Programs) != programs || r.Ops() != programs*instrs {
			t.Fatalf("%d programs, %d ops; want %d and %d", len(r.Programs), r.Ops(), programs, programs*instrs)
		}
		for i, pr := range r.Programs {
			if pr.Start < 0 || pr.Start >= len(r.Pools) {
				t.Fatalf("program %d starts on pool %d of %d", i, pr.Start, len(r.Pools))
			}
			seen := map[int]bool{}
			// The bug: a remote part that may run on a pool whose workers
			// its callers hold (all of them, if the pool is small): a
			// deadlock of the program, not of the runtime.
			var walk func(prog []model.ContInstr, held int, at model.Where, depth int)
			walk = func(prog []model.ContInstr, held int, at model.Where, depth int) {
				if depth > 2 {
					t.Fatalf("program %d nests deeper than 2: %s", i, model.FormatCont(pr.Body))
				}
				for _, in := range prog {
					switch in.Kind {
					case model.ContWork:
						// The bug: step ids that repeat, so that a step run
						// twice could pass for two steps.
						if seen[in.Step] {
							t.Fatalf("program %d: step id %d twice", i, in.Step)
						}
						seen[in.Step] = true
					case model.ContGoto:
						if in.Pool <= held || in.Pool >= len(r.Pools) {
							t.Fatalf("program %d: goto(%d) with callers holding pools up to %d: %s", i, in.Pool, held, model.FormatCont(pr.Body))
						}
						at = model.Where(in.Pool)
					case model.ContComeFrom:
						h := max(held, int(at))
						if in.Pool <= h || in.Pool >= len(r.Pools) {
							t.Fatalf("program %d: comefrom(%d) holding pools up to %d: %s", i, in.Pool, h, model.FormatCont(pr.Body))
						}
						walk(in.Sub, h, model.Where(in.Pool), depth+1)
					case model.ContNovelThread:
						walk(in.Sub, max(held, int(at)), model.Novel, depth+1)
					}
				}
			}
			walk(pr.Body, -1, model.Where(pr.Start), 0)
		}
	})
}

// The same seed and round give the same round: what replays a failure.
func TestGenContRoundReplays(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	a := conttest.GenRound(linearize.NewGen(0x2a, 7).Intn, 5, 6).String()
	b := conttest.GenRound(linearize.NewGen(0x2a, 7).Intn, 5, 6).String()
	if a != b {
		t.Fatalf("one seed, two rounds:\n%s\n%s", a, b)
	}
	// The bug: a generator that ignores its choices (always the same
	// round), or draws from a source of its own.
	if c := conttest.GenRound(linearize.NewGen(0x2a, 8).Intn, 5, 6).String(); c == a {
		t.Fatalf("rounds 7 and 8 are the same:\n%s", a)
	}
	for _, want := range []string{"pools:", "program 4", "starts on pool"} {
		if !strings.Contains(a, want) {
			t.Errorf("round text lacks %q:\n%s", want, a)
		}
	}
}

// A remote part that moves: ComeFrom(pool 1) whose remote part does a
// Goto(pool 2) and then one more step; the caller must resume on pool 0
// once the remote part has finished on pool 2 (spec: the remote part runs
// "to its end"). One program per form.
//
// The bug (impl/cont since d65851e, "a continuation is one word again"):
// cont.NewCall wraps the child's steps to close the call when the child
// finishes, and the wrapper re-wraps the step each step returns; but a
// step that ends with Goto stores the move in c.fn, and Step then runs the
// move, which resumes with the bare step given to Goto, so the wrapper is
// gone: the child finishes unseen, and its caller (cont.ComeFrom's or
// cont.NovelThread's step, seq.ComeFrom, seq.NovelThread) waits for good.
// Found by the continuation campaign (see remoteMoves in round.go,
// which keeps such programs out of generated rounds until this passes).
func TestContRemotePartThatMoves(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, form := range []conttest.Form{conttest.FormSteps, conttest.FormSeq, conttest.FormMixed} {
		t.Run(form.String(), func(t *testing.T) {
			r := conttest.Round{
				Pools: []conttest.Pool{{Workers: 1, Cap: spec.Unbounded}, {Workers: 1, Cap: spec.Unbounded}, {Workers: 1, Cap: spec.Unbounded}},
				Programs: []conttest.Program{{Start: 0, Form: form, Body: []model.ContInstr{
					{Kind: model.ContComeFrom, Pool: 1, Sub: []model.ContInstr{
						{Kind: model.ContWork, Step: 1}, {Kind: model.ContGoto, Pool: 2}, {Kind: model.ContWork, Step: 2}}},
					{Kind: model.ContWork, Step: 3}}}},
			}
			if res := conttest.RunRound(r, conttest.Options{Deadline: 3 * time.Second}); res.Failed() {
				t.Fatalf("%s\n%s", strings.Join(res.Problems, "\n"), r)
			}
		})
	}
}

// A sequential program that moves from a pool on goroutines to a pool on
// OS threads and back, run in a child process: the bug kills the process.
//
// The bug (impl/seq): a sequential continuation's body is a coroutine
// (iter.Pull), which Go's runtime requires to be resumed with the same
// OS-thread locking as where it was made; a worker of an rt.OSThread pool
// is locked to its thread, one of a plain pool is not, so the first step
// of the body after such a move dies with "fatal error: coro: OS thread
// locking must match locking at coroutine creation", which no recover
// catches: the whole process ends. Found by the continuation campaign (see
// seqOnOSThreads in continuation.go, which keeps sequential programs out
// of rounds with OS-thread pools until this passes).
func TestContSeqAcrossOSThreads(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	if os.Getenv("INSIDEOUT_CONT_CHILD") == "1" {
		r := conttest.Round{
			Pools: []conttest.Pool{{Workers: 1, Cap: spec.Unbounded}, {Workers: 1, Cap: spec.Unbounded, OSThread: true}},
			Programs: []conttest.Program{{Start: 0, Form: conttest.FormSeq, Body: []model.ContInstr{
				{Kind: model.ContWork, Step: 1}, {Kind: model.ContGoto, Pool: 1}, {Kind: model.ContWork, Step: 2},
				{Kind: model.ContGoto, Pool: 0}, {Kind: model.ContWork, Step: 3}}}},
		}
		if res := conttest.RunRound(r, conttest.Options{Deadline: 3 * time.Second}); res.Failed() {
			t.Fatalf("%s\n%s", strings.Join(res.Problems, "\n"), r)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestContSeqAcrossOSThreads$")
	cmd.Env = append(os.Environ(), "INSIDEOUT_CONT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		const most = 3000
		if len(out) > most {
			out = out[:most]
		}
		t.Fatalf("the child process failed (%v):\n%s", err, out)
	}
}

// offload is a broken dispatcher: it runs every continuation it receives
// on a runtime spawned for it, not on its worker, so every step runs on
// no pool.
func offload(box *pool.Box) (*cont.C, func() []*cont.C) {
	w := cont.New(func(ctx context.Context, self *cont.C) cont.Step {
		c, err := box.RecvContext(ctx)
		if errors.Is(err, mailbox.ErrUnreadable) {
			return nil
		} else if err != nil {
			return self.Next()
		}
		r, err := rt.Spawn(c)
		if err != nil {
			panic(err)
		}
		r.Join()
		return self.Next()
	})
	return w, func() []*cont.C { return nil }
}

// A failed round is reported as the other campaigns' are. The bug: a
// failure without the seed and round that replay it, without the round's
// programs, not counted in the summary (so that verify would pass it), or
// that is not the *linearize.Failure every campaign reports.
func TestContFailureReport(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed, sum, err := conttest.Check{Seed: 0x2a, Rounds: 5, Dispatcher: func() pool.Dispatcher { return offload }}.Run(t.Context(), nil)
	var f *linearize.Failure
	if !errors.As(err, &f) {
		t.Fatalf("a dispatcher that runs nothing on its pool passed: %v", err)
	}
	if seed != 0x2a || f.Seed != 0x2a || sum.Rounds != f.Round+1 || sum.Failures() == 0 || sum.Illegal == 0 || len(f.Problems) == 0 {
		t.Errorf("seed %#x, failure %+v, summary %+v", seed, f, sum)
	}
	msg := err.Error()
	for _, want := range []string{"seed 0x2a", "INSIDEOUT_SEED=0x2a INSIDEOUT_ROUND=", "on novel, want", "pools:", "program 0 (", "problem(s)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
}
