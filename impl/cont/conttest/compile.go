package conttest

import (
	"context"
	"fmt"
	"runtime"
	"weak"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/impl/seq"
	"github.com/insideout-go/insideout/model"
)

// locate returns where the step whose context is ctx runs.
func (run *contRun) locate(ctx context.Context) model.Where {
	r := rt.FromContext(ctx)
	if r == nil {
		return nowhere
	}
	if w, ok := run.where[weak.Make(r)]; ok {
		return w
	}
	return model.Novel
}

// waiting notes the runtime of ctx, if no pool's, before it waits for a
// remote part: a round that fails halts it.
func (run *contRun) waiting(ctx context.Context) {
	r := rt.FromContext(ctx)
	if r == nil {
		return
	}
	wr := weak.Make(r)
	if _, ok := run.where[wr]; ok {
		return
	}
	run.mu.Lock()
	if !run.seen[wr] {
		run.seen[wr] = true
		run.novels = append(run.novels, wr)
	}
	run.mu.Unlock()
}

// work is a Work step of program p: it takes the program's ownership,
// records where it runs, and gives the ownership back.
func (run *contRun) work(p *contProg, step int, ctx context.Context) {
	token := int64(step) + 1
	owned := p.owner.CompareAndSwap(0, token)
	if !owned {
		// The bug: two steps of one continuation at once (a continuation
		// handed to two runners, a caller resumed while its remote part
		// still runs, a dispatcher that steps a continuation it sent on).
		p.problem("step %d started while step %d was running: two runners at once", step, p.owner.Load()-1)
	}
	w := run.locate(ctx)
	p.mu.Lock()
	p.trace = append(p.trace, model.ContEvent{Step: step, Where: w})
	p.mu.Unlock()
	// Let another runner in, if one wrongly holds the continuation too.
	seam.Yield()
	seam.Point()
	if owned && !p.owner.CompareAndSwap(token, 0) {
		p.problem("step %d: its ownership was taken while it ran: two runners at once", step)
	}
}

// finish is the last step of program p.
func (run *contRun) finish(p *contProg) {
	if p.done.Add(1) == 1 && run.left.Add(-1) == 0 {
		seam.Close(run.allDone)
	}
}

// program builds program p's continuation.
func (run *contRun) program(p *contProg, pr Program) *cont.C {
	if pr.Form == FormSeq {
		return seq.New(func(k *seq.K) {
			run.seqBody(p, k, pr.Body)
			run.finish(p)
		})
	}
	last := func(ctx context.Context, c *cont.C) cont.Step {
		run.finish(p)
		return nil
	}
	return cont.New(run.steps(p, pr.Body, pr.Form == FormMixed, last))
}

// flat reports whether prog is only Work and Coop: a remote part that
// cont.ComeFrom and cont.NovelThread can run as one function.
func flat(prog []model.ContInstr) bool {
	for _, in := range prog {
		if in.Kind != model.ContWork && in.Kind != model.ContCoop {
			return false
		}
	}
	return true
}

// steps compiles prog into step form, ending with last; seqRemote writes
// its remote parts as sequential continuations. Every step a
// continuation may be received with (its first, and the one after a
// Goto) keeps no state of its own: the state of a remote part in flight
// lives in the steps that wait for it, made when it starts.
func (run *contRun) steps(p *contProg, prog []model.ContInstr, seqRemote bool, last cont.Step) cont.Step {
	next := last
	for i := len(prog) - 1; i >= 0; i-- {
		in, then := prog[i], next
		switch in.Kind {
		case model.ContWork:
			next = func(ctx context.Context, c *cont.C) cont.Step {
				run.work(p, in.Step, ctx)
				return then
			}
		case model.ContCoop:
			next = func(ctx context.Context, c *cont.C) cont.Step { return c.Coop(then) }
		case model.ContGoto:
			box := run.boxes[in.Pool]
			arrived := func(ctx context.Context, c *cont.C) cont.Step {
				if err := cont.MoveErr(ctx); err != nil {
					p.problem("goto(%d) failed: %v", in.Pool, err)
				}
				return then(ctx, c)
			}
			next = func(ctx context.Context, c *cont.C) cont.Step { return c.Goto(box, arrived) }
		case model.ContComeFrom, model.ContNovelThread:
			next = run.remote(p, in, seqRemote, then)
		default:
			panic(fmt.Sprintf("conttest: unknown instruction %v", in.Kind))
		}
	}
	return next
}

// remote compiles a ComeFrom or NovelThread in step form: a step that
// starts the call and returns the step that waits for it.
func (run *contRun) remote(p *contProg, in model.ContInstr, seqRemote bool, then cont.Step) cont.Step {
	what := "novel"
	if in.Kind == model.ContComeFrom {
		what = fmt.Sprintf("comefrom(%d)", in.Pool)
	}
	resume := func(_ struct{}, err error) cont.Step {
		if err != nil {
			// The bug: a remote part that failed (panicked, not sent, no
			// runtime to spawn from) though nothing should stop it.
			p.problem("%s: %v", what, err)
		}
		return then
	}
	if !seqRemote && flat(in.Sub) {
		// cont.ComeFrom and cont.NovelThread: the remote part is one
		// function, which runs every Work of it.
		body := func(ctx context.Context) struct{} {
			for _, s := range in.Sub {
				if s.Kind == model.ContWork {
					run.work(p, s.Step, ctx)
				}
			}
			return struct{}{}
		}
		return func(ctx context.Context, c *cont.C) cont.Step {
			run.waiting(ctx)
			if in.Kind == model.ContComeFrom {
				return c.Coop(cont.ComeFrom(run.boxes[in.Pool], body, resume))
			}
			return c.Coop(cont.NovelThread(body, resume))
		}
	}
	return func(ctx context.Context, c *cont.C) cont.Step {
		run.waiting(ctx)
		cl := cont.NewCall(func(result func(struct{})) *cont.C {
			if seqRemote {
				return seq.New(func(k *seq.K) {
					run.seqBody(p, k, in.Sub)
					result(struct{}{})
				})
			}
			return cont.New(run.steps(p, in.Sub, false, func(ctx context.Context, c *cont.C) cont.Step {
				result(struct{}{})
				return nil
			}))
		})
		send := cl.ToNovel()
		if in.Kind == model.ContComeFrom {
			send = cont.ToBox(run.boxes[in.Pool])
		}
		var wait cont.Step
		wait = func(ctx context.Context, c *cont.C) cont.Step {
			if _, err, ok := cl.Wait(ctx, send); ok {
				return resume(struct{}{}, err)
			}
			return wait
		}
		return wait
	}
}

// seqBody runs prog in a sequential continuation's body.
func (run *contRun) seqBody(p *contProg, k *seq.K, prog []model.ContInstr) {
	for _, in := range prog {
		switch in.Kind {
		case model.ContWork:
			run.work(p, in.Step, k.Context())
		case model.ContCoop:
			if err := k.Coop(); err != nil {
				p.problem("coop: %v", err)
			}
		case model.ContGoto:
			if err := k.Goto(run.boxes[in.Pool]); err != nil {
				p.problem("goto(%d) failed: %v", in.Pool, err)
			}
		case model.ContComeFrom:
			run.waiting(k.Context())
			if _, err := seq.ComeFrom(k, run.boxes[in.Pool], func(k *seq.K) struct{} {
				run.seqBody(p, k, in.Sub)
				return struct{}{}
			}); err != nil {
				p.problem("comefrom(%d): %v", in.Pool, err)
			}
		case model.ContNovelThread:
			run.waiting(k.Context())
			if _, err := seq.NovelThread(k, func(k *seq.K) struct{} {
				run.seqBody(p, k, in.Sub)
				return struct{}{}
			}); err != nil {
				p.problem("novel: %v", err)
			}
		default:
			panic(fmt.Sprintf("conttest: unknown instruction %v", in.Kind))
		}
	}
}

// stacks returns every goroutine's stack, up to 1 MiB.
func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// contFailure reports a failed round: a lost continuation as a hang, the
