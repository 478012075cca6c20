package campaign

import (
	"context"

	"github.com/insideout-go/insideout/impl/cont/conttest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// continuationCheck makes the continuation campaign's conttest.Check of
// o: its sizes, seed, strategy and recheck. Under DFS, whose every
// schedule within the bound is many for a big round, rounds are small (2
// programs of 3 instructions) unless told otherwise, as the scenarios'
// are (see run).
func continuationCheck(o Options) conttest.Check {
	c := conttest.Check{Programs: o.Clients, Instrs: o.OpsPerClient, Seed: o.Seed, Rounds: -1,
		Schedule: o.Schedule, Recheck: o.Recheck && o.Schedule != nil}
	if _, ok := o.Schedule.(schedule.DFS); ok {
		if c.Programs <= 0 {
			c.Programs = 2
		}
		if c.Instrs <= 0 {
			c.Instrs = 3
		}
	}
	return c
}

// runContinuation is the continuation campaign's Run.
func runContinuation(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
	return continuationCheck(o).Run(ctx, progress)
}
