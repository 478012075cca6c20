// Package campaign holds insideout's verification campaigns: for each
// primitive, the randomized linearizability scenario that joins its
// implementation in impl/ to its model in model/. The command
// `insideout verify` runs them all, and the tests and stress suites reuse
// the scenarios.
package campaign

import (
	"context"
	"fmt"
	"time"

	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/spec"
)

// Options tune a campaign run. Zero values take each scenario's defaults.
type Options struct {
	Seed         uint64 // 0: random (or INSIDEOUT_SEED)
	Clients      int
	OpsPerClient int
	ReportDir    string
}

// A Campaign checks one primitive until its context is done.
type Campaign struct {
	Name string // the primitive, as `insideout verify` prints it
	Doc  string // one line: what the campaign exercises
	// Run runs rounds until ctx is done or one fails, calling progress
	// after every round; it returns the seed it used, the summary, and
	// the *linearize.Failure of a failed round.
	Run func(ctx context.Context, o Options, progress func(linearize.Summary)) (seed uint64, sum linearize.Summary, err error)
}

// All returns every registered campaign, in the order the primitives build
// on each other.
func All() []Campaign {
	return []Campaign{
		{
			Name: "queue",
			Doc:  "impl/queue: concurrent push and pop, then a quiescent len and drain",
			Run: func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
				sc := QueueScenario("queue", NewQueue)
				return run(ctx, &sc, o, progress)
			},
		},
		{
			Name: "mailbox",
			Doc:  "impl/mailbox: every operation at once, capacities 0, 1, 2 and unbounded, and the void mailbox; then release, liveness check and drain",
			Run: func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
				// The capacities, then the void mailbox, take turns, a slice of
				// the time each.
				caps := []int{1, 2, 0, spec.Unbounded}
				var total linearize.Summary
				var seed uint64
				deadline, hasDeadline := ctx.Deadline()
				for i := range len(caps) + 1 {
					cctx, cancel := ctx, context.CancelFunc(func() {})
					if hasDeadline {
						cctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(deadline)/time.Duration(len(caps)+1-i)))
					}
					var sum linearize.Summary
					var err error
					running := func(s linearize.Summary) {
						if progress != nil {
							progress(add(total, s))
						}
					}
					if i < len(caps) {
						sc := MailboxScenario("mailbox-cap"+capName(caps[i]), caps[i], NewMailbox)
						seed, sum, err = run(cctx, &sc, o, running)
					} else {
						sc := VoidScenario("mailbox-void", NewVoid)
						seed, sum, err = run(cctx, &sc, o, running)
					}
					cancel()
					total = add(total, sum)
					if err != nil || ctx.Err() != nil {
						return seed, total, err
					}
				}
				return seed, total, nil
			},
		},
	}
}

// run applies o to sc and runs it until ctx is done.
func run[S any](ctx context.Context, sc *linearize.Scenario[S], o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
	if o.Clients > 0 {
		sc.Clients = o.Clients
	}
	if o.OpsPerClient > 0 {
		sc.OpsPerClient = o.OpsPerClient
	}
	sc.ReportDir = o.ReportDir
	seed, err := linearize.ResolveSeed(o.Seed)
	if err != nil {
		return 0, linearize.Summary{}, err
	}
	sc.Seed = seed
	sc.Rounds = -1
	sum, err := sc.RunContext(ctx, progress)
	return sc.Seed, sum, err
}

// add returns the sum of two summaries.
func add(a, b linearize.Summary) linearize.Summary {
	return linearize.Summary{
		Rounds: a.Rounds + b.Rounds, Ops: a.Ops + b.Ops, Histories: a.Histories + b.Histories,
		Illegal: a.Illegal + b.Illegal, Unknown: a.Unknown + b.Unknown, Hangs: a.Hangs + b.Hangs,
		Panics: a.Panics + b.Panics, Elapsed: a.Elapsed + b.Elapsed,
	}
}

func capName(c int) string {
	if c == spec.Unbounded {
		return "∞"
	}
	return fmt.Sprint(c)
}
