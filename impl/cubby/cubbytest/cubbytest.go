// Package cubbytest checks implementations of spec.Cubby, such as
// impl/cubby's: the linearizability scenario, with its liveness check,
// that `insideout verify`, the tests, the fuzz target and the stress suite
// run, and the known-bad cubbies that every check must be shown to catch.
package cubbytest

import (
	"fmt"
	"strings"

	"github.com/insideout-go/insideout/impl/cubby"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// Pair is the value the checks keep in a cubby: every write sets both
// halves to one value, so that a read with two different halves is a torn
// read, part of one write and part of another.
type Pair struct{ A, B uint64 }

// Cell is the system under test of the scenario: a cubby of pairs, and
// the version its reader saw last, which the reader's TryLoad passes.
type Cell struct {
	C    spec.Cubby[Pair]
	seen uint64 // the reader's: only the reader's calls touch it
}

// NewCubby builds the cubby of impl/cubby.
func NewCubby() spec.Cubby[Pair] { return cubby.New[Pair]() }

// Writer and Reader are the client roles of the scenario: client 0
// writes, client 1 reads (Scenario.Roles), as a cubby has one of each.
const (
	Writer = 0
	Reader = 1
)

// Store runs a Store of v, both halves.
func Store(c *Cell, v uint64) model.CubbyOutput {
	c.C.Store(Pair{v, v})
	return model.CubbyOutput{}
}

// Update runs an Update that writes v one half at a time, with a switch
// point between, so that a reader let in meanwhile sees the pair torn.
func Update(c *Cell, v uint64) model.CubbyOutput {
	if err := c.C.Update(func(p *Pair) {
		p.A = v
		seam.Point()
		p.B = v
	}); err != nil {
		panic(fmt.Sprintf("cubbytest: Update: %v", err))
	}
	return model.CubbyOutput{}
}

// Load runs a Load and keeps its version as the reader's last.
func Load(c *Cell) model.CubbyOutput {
	p, n := c.C.Load()
	c.seen = n
	return model.CubbyOutput{A: p.A, B: p.B, Version: n, Ok: true}
}

// TryLoad runs a TryLoad of the reader's last version.
func TryLoad(c *Cell) model.CubbyOutput {
	seen := c.seen
	p, n, ok := c.C.TryLoad(seen)
	if ok {
		c.seen = n
	}
	return model.CubbyOutput{A: p.A, B: p.B, Version: n, Ok: ok, Seen: seen}
}

// View runs a View that reads the pair one half at a time, with a switch
// point between, so that a writer let in meanwhile tears it.
func View(c *Cell) model.CubbyOutput {
	var p Pair
	n, err := c.C.View(func(q *Pair) {
		p.A = q.A
		seam.Point()
		p.B = q.B
	})
	if err != nil {
		panic(fmt.Sprintf("cubbytest: View: %v", err))
	}
	c.seen = n
	return model.CubbyOutput{A: p.A, B: p.B, Version: n, Ok: true}
}

// write draws the value of a Store or Update: distinct across the round.
func write(op model.CubbyOp) func(*linearize.Gen) model.CubbyInput {
	return func(g *linearize.Gen) model.CubbyInput {
		if g == nil {
			return model.CubbyInput{Op: op}
		}
		return model.CubbyInput{Op: op, V: uint64(g.Unique())}
	}
}

func read(op model.CubbyOp) func(*linearize.Gen) model.CubbyInput {
	return func(*linearize.Gen) model.CubbyInput { return model.CubbyInput{Op: op} }
}

// Ops are the operations of the scenario, in this order: store and
// update (the writer's), load, tryLoad and view (the reader's). None is
// LockFree: each may wait for the other party's critical section
// (TryLoad only when there is something new).
func Ops() []linearize.Op[*Cell, model.CubbyInput, model.CubbyOutput] {
	return []linearize.Op[*Cell, model.CubbyInput, model.CubbyOutput]{
		{Name: "store", Weight: 3, Input: write(model.CubbyStore),
			Run: func(c *Cell, in model.CubbyInput) model.CubbyOutput { return Store(c, in.V) }},
		{Name: "update", Weight: 2, Input: write(model.CubbyUpdate),
			Run: func(c *Cell, in model.CubbyInput) model.CubbyOutput { return Update(c, in.V) }},
		{Name: "load", Weight: 2, Input: read(model.CubbyLoad),
			Run: func(c *Cell, _ model.CubbyInput) model.CubbyOutput { return Load(c) }},
		{Name: "tryLoad", Weight: 2, Input: read(model.CubbyTryLoad),
			Run: func(c *Cell, _ model.CubbyInput) model.CubbyOutput { return TryLoad(c) }},
		{Name: "view", Weight: 2, Input: read(model.CubbyView),
			Run: func(c *Cell, _ model.CubbyInput) model.CubbyOutput { return View(c) }},
	}
}

// Roles gives the writer the writer's operations and the reader the
// reader's (see Ops).
var Roles = [][]int{{3, 2, 0, 0, 0}, {0, 0, 2, 2, 2}}

// Stuck reports a call that cannot finish: no call of a correct cubby
// waits except while the other party is inside its critical section, and
// that is a copy, or a function of the scenario's that never waits. So a
// call still in progress once every client is inside a call and none
// returns (the harness asks only then, and waits for the answer to
// persist) waits for nothing that will come: a lost wake-up, or both
// parties waiting on each other.
func Stuck(c *Cell, inProgress []model.CubbyInput) string {
	var names []string
	writing, reading := false, false
	for _, in := range inProgress {
		switch in.Op {
		case model.CubbyStore, model.CubbyUpdate:
			writing = true
		default:
			reading = true
		}
		names = append(names, model.DescribeCubbyOp(in, nil))
	}
	switch {
	case writing && reading:
		return fmt.Sprintf("%s waiting on each other, neither can get in", strings.Join(names, " and "))
	case writing:
		return fmt.Sprintf("%s waiting, with no reader in the cubby", strings.Join(names, ", "))
	case reading:
		return fmt.Sprintf("%s waiting, with no writer in the cubby", strings.Join(names, ", "))
	}
	return ""
}

// Release ends the waits of a round that Stuck reported: it lets every
// waiter of a known-bad cubby in (Unblock). A correct cubby never needs
// it.
func Release(c *Cell, _ linearize.Caller[model.CubbyInput, model.CubbyOutput]) { Unblock(c) }

// Finally records, once everything has returned, a Load: the last write
// must be whole and counted.
func Finally(c *Cell, cl linearize.Caller[model.CubbyInput, model.CubbyOutput]) {
	cl.Do(model.CubbyInput{Op: model.CubbyLoad}, func() model.CubbyOutput { return Load(c) })
}

// Unblock lets the waiters of a known-bad cubby that has them wait for
// good in, so that their goroutines exit after the report.
func Unblock(c *Cell) {
	if u, ok := c.C.(interface{ Unblock() }); ok {
		u.Unblock()
	}
}

// Scenario returns the linearizability scenario for any spec.Cubby of
// pairs that newCubby builds: a writer stores and updates while a reader
// loads, tries and views, at once; a round ends with Finally's Load. The
// scenario has exactly two clients, the writer and the reader (Roles):
// more would be two callers of one role, which spec.Cubby forbids. Set
// OpsPerClient, Rounds and Seed to taste.
func Scenario(name string, newCubby func() spec.Cubby[Pair]) linearize.Scenario[*Cell, model.CubbyInput, model.CubbyOutput] {
	return linearize.Scenario[*Cell, model.CubbyInput, model.CubbyOutput]{
		Name:         name,
		Model:        linearize.Porcupine[model.CubbyInput, model.CubbyOutput](model.Cubby()),
		New:          func() *Cell { return &Cell{C: newCubby()} },
		Ops:          Ops(),
		Roles:        Roles,
		Clients:      2,
		OpsPerClient: 6,
		Release:      Release,
		Stuck:        Stuck,
		Finally:      Finally,
		Unblock:      Unblock,
	}
}
