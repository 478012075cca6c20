// Package campaign holds insideout's verification campaigns: for each
// primitive, the randomized linearizability scenario that joins its
// implementation in impl/ to its model in model/. The command
// `insideout verify` runs them all, and the tests and stress suites reuse
// the scenarios.
package campaign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/insideout-go/insideout/impl/cont/conttest"
	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/impl/semaphore/semaphoretest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// Options tune a campaign run. Zero values take each scenario's defaults.
type Options struct {
	Seed         uint64 // 0: random (or INSIDEOUT_SEED)
	Clients      int
	OpsPerClient int
	ReportDir    string
	// CheckTimeout is the checker's limit per history: a history it has
	// not decided by then is Unknown, a failure. 0: each scenario's
	// default (10s). The continuation campaign checks no history with
	// porcupine.
	CheckTimeout time.Duration
	// Schedule, if set, runs the rounds of every campaign built on a
	// linearize.Scenario under impl/seam's controlled scheduler with this
	// strategy (a build with -tags sched); campaigns whose Controlled is
	// false run free and say so.
	Schedule schedule.Strategy
	// Recheck runs every controlled schedule twice and fails a round whose
	// steps differ (see linearize.Scenario.Recheck).
	Recheck bool
}

// A Campaign checks one primitive until its context is done.
type Campaign struct {
	Name string // the primitive, as `insideout verify` prints it
	Doc  string // one line: what the campaign exercises
	// Run runs rounds until ctx is done or one fails, calling progress
	// after every round; it returns the seed it used, the summary, and
	// the *linearize.Failure of a failed round.
	Run func(ctx context.Context, o Options, progress func(linearize.Summary)) (seed uint64, sum linearize.Summary, err error)
	// Controlled reports whether Options.Schedule applies: the campaign's
	// rounds run under the controlled scheduler. A campaign with its own
	// engine (one that waits on a kernel, say) runs free.
	Controlled bool
	// Replay, if set, replays a token of one of the campaign's scenarios
	// (see linearize.Scenario.Replay); it returns ErrNotMine for a token
	// of another scenario.
	Replay func(tok schedule.Token) error
}

// ErrNotMine is a Campaign's Replay's answer to a token of a scenario
// that is not its own.
var ErrNotMine = errors.New("campaign: the token is for another scenario")

// Replay replays tok with the campaign of campaigns whose scenario it
// names: the failure it reproduces, nil if the schedule now passes, or an
// error that says why the token does not fit.
func Replay(campaigns []Campaign, tok schedule.Token) error {
	for _, c := range campaigns {
		if c.Replay == nil {
			continue
		}
		if err := c.Replay(tok); !errors.Is(err, ErrNotMine) {
			return err
		}
	}
	return fmt.Errorf("no campaign has a scenario named %q", tok.Scenario)
}

// replayer returns a Replay that knows the scenarios that the functions
// of scenarios build, by name.
func replayer(scenarios ...func(tok schedule.Token) (bool, error)) func(schedule.Token) error {
	return func(tok schedule.Token) error {
		for _, s := range scenarios {
			if mine, err := s(tok); mine {
				return err
			}
		}
		return ErrNotMine
	}
}

// replayOf returns the replay of the scenario newScenario makes.
func replayOf[S, In, Out any](newScenario func() linearize.Scenario[S, In, Out]) func(tok schedule.Token) (bool, error) {
	return func(tok schedule.Token) (bool, error) {
		sc := newScenario()
		if sc.Name != tok.Scenario {
			return false, nil
		}
		return true, sc.Replay(tok)
	}
}

// FromScenario makes a campaign of a scenario of your own, to run beside
// insideout's with package linearize/verify: each run of the campaign
// builds a fresh scenario with newScenario, applies the Options to it (the
// seed, the clients and operations per client when set, the checker's
// time-out, the report directory) and runs rounds until its context ends.
func FromScenario[S, In, Out any](name, doc string, newScenario func() linearize.Scenario[S, In, Out]) Campaign {
	named := func() linearize.Scenario[S, In, Out] {
		sc := newScenario()
		if sc.Name == "" {
			sc.Name = name
		}
		return sc
	}
	return Campaign{Name: name, Doc: doc, Controlled: true, Replay: replayer(replayOf(named)),
		Run: func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
			sc := named()
			return run(ctx, &sc, o, progress)
		}}
}

// All returns every registered campaign, in the order the primitives build
// on each other.
func All() []Campaign {
	cs := []Campaign{
		FromScenario("queue", "impl/queue: concurrent push and pop, then a quiescent len and drain",
			func() linearize.Scenario[spec.Queue[int], model.QueueInput, model.QueueOutput] {
				return queuetest.Scenario("queue", queuetest.NewQueue)
			}),
		{
			Name:       "mailbox",
			Doc:        "impl/mailbox: every operation at once, capacities 0, 1, 2 and unbounded, and the void mailbox; then release, liveness check and drain",
			Controlled: true,
			Replay: replayer(
				replayOf(mailboxScenario(1)), replayOf(mailboxScenario(2)), replayOf(mailboxScenario(0)),
				replayOf(mailboxScenario(spec.Unbounded)), replayOf(voidScenario)),
			Run: func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
				var parts []part
				for _, c := range []int{1, 2, 0, spec.Unbounded} {
					parts = append(parts, func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
						sc := mailboxScenario(c)()
						return run(ctx, &sc, o, progress)
					})
				}
				parts = append(parts, func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
					sc := voidScenario()
					return run(ctx, &sc, o, progress)
				})
				return turns(ctx, o, progress, parts)
			},
		},
		runtimeCampaign(),
		poolCampaign(),
		{
			Name:       "continuation",
			Doc:        "impl/cont, impl/seq: random programs of goto, comefrom, novel thread and coop, step and sequential, over 2 to 4 pools; every step once, in order, on its pool",
			Controlled: true,
			Replay: func(tok schedule.Token) error {
				if tok.Scenario != conttest.Scenario {
					return ErrNotMine
				}
				return conttest.Check{}.Replay(tok)
			},
			Run: runContinuation,
		},
		eventqCampaign(),
		{
			Name:       "semaphore",
			Doc:        "impl/semaphore, in order and barging: acquire (with and without a time-out), tryAcquire, release and available at once, capacities 1 and 2; then release, lost-wake-up and lost-permit check, and the count",
			Controlled: true,
			Replay: replayer(replayOf(semaphoreScenario(0, 1)), replayOf(semaphoreScenario(0, 2)),
				replayOf(semaphoreScenario(1, 1)), replayOf(semaphoreScenario(1, 2))),
			Run: func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
				var parts []part
				for kind := range semaphoretest.Semaphores {
					for _, n := range []int{1, 2} {
						parts = append(parts, func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
							sc := semaphoreScenario(kind, n)()
							return run(ctx, &sc, o, progress)
						})
					}
				}
				return turns(ctx, o, progress, parts)
			},
		},
		cubbyCampaign(),
		backlogCampaign(),
	}
	// A primitive whose campaign is not written yet returns a Campaign
	// without a name, and is left out.
	all := cs[:0]
	for _, c := range cs {
		if c.Name != "" {
			all = append(all, c)
		}
	}
	return all
}

// mailboxScenario makes the mailbox campaign's scenario of capacity c.
func mailboxScenario(c int) func() linearize.Scenario[mailboxtest.Mailbox, model.MailboxInput, model.MailboxOutput] {
	return func() linearize.Scenario[mailboxtest.Mailbox, model.MailboxInput, model.MailboxOutput] {
		return mailboxtest.Scenario("mailbox-cap"+capName(c), c, mailboxtest.NewMailbox)
	}
}

func voidScenario() linearize.Scenario[mailboxtest.Void, model.MailboxInput, model.MailboxOutput] {
	return mailboxtest.VoidScenario("mailbox-void", mailboxtest.NewVoid)
}

// semaphoreScenario makes the semaphore campaign's scenario of capacity
// n for semaphoretest.Semaphores[kind] (0, in order: named as before the
// barging one came, so that old replay tokens still replay).
func semaphoreScenario(kind, n int) func() linearize.Scenario[*semaphoretest.Held, model.SemaphoreInput, model.SemaphoreOutput] {
	s := semaphoretest.Semaphores[kind]
	name := fmt.Sprintf("semaphore-n%d", n)
	if kind > 0 {
		name = fmt.Sprintf("semaphore-%s-n%d", s.Name, n)
	}
	return func() linearize.Scenario[*semaphoretest.Held, model.SemaphoreInput, model.SemaphoreOutput] {
		return semaphoretest.Scenario(name, n, s.New)
	}
}

// A part is one scenario of a campaign that runs several in turn.
type part func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error)

// turns runs parts one after the other, each for an equal share of the
// time left before ctx's deadline (or until ctx is done, without one),
// stopping at the first failure, and sums their summaries.
func turns(ctx context.Context, o Options, progress func(linearize.Summary), parts []part) (uint64, linearize.Summary, error) {
	var total linearize.Summary
	var seed uint64
	deadline, hasDeadline := ctx.Deadline()
	for i, p := range parts {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if hasDeadline {
			pctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(deadline)/time.Duration(len(parts)-i)))
		}
		running := func(s linearize.Summary) {
			if progress != nil {
				progress(add(total, s))
			}
		}
		var sum linearize.Summary
		var err error
		seed, sum, err = p(pctx, o, running)
		cancel()
		total = add(total, sum)
		if err != nil || ctx.Err() != nil {
			return seed, total, err
		}
	}
	return seed, total, nil
}

// run applies o to sc and runs it until ctx is done.
func run[S, In, Out any](ctx context.Context, sc *linearize.Scenario[S, In, Out], o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
	switch o.Schedule.(type) {
	case schedule.DFS:
		// Every schedule within the bound is many for a big program: DFS
		// explores small ones unless told otherwise.
		sc.Clients, sc.OpsPerClient = 2, 3
	case schedule.Random:
		// Random preempts at almost every step, so every call overlaps
		// every other, and porcupine's check of 18 of them can take
		// seconds: 12 check in milliseconds.
		sc.OpsPerClient = 4
	}
	if o.Clients > 0 {
		sc.Clients = o.Clients
	}
	if o.OpsPerClient > 0 {
		sc.OpsPerClient = o.OpsPerClient
	}
	if o.CheckTimeout > 0 {
		sc.CheckTimeout = o.CheckTimeout
	}
	sc.ReportDir = o.ReportDir
	sc.Schedule, sc.Recheck = o.Schedule, o.Recheck
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
		Schedules: a.Schedules + b.Schedules, Exhausted: a.Exhausted + b.Exhausted,
	}
}

func capName(c int) string {
	if c == spec.Unbounded {
		return "∞"
	}
	return fmt.Sprint(c)
}
