// Package schedule holds the strategies that choose interleavings for
// impl/seam's controlled scheduler, and the tokens that replay one.
//
// A Strategy explores the schedules of one program at a time:
//
//   - Random picks uniformly among the goroutines that can go next.
//   - PCT is probabilistic concurrency testing (Burckhardt, Kothari,
//     Musuvathi, Nagarakatte, ASPLOS 2010): random priorities, the highest
//     runnable goes, and at depth-1 random decisions the running goroutine
//     drops below all others. For n goroutines and k decisions, a bug of
//     depth d shows with probability at least 1/(n*k^(d-1)) per schedule.
//   - DFS runs every schedule with at most a given number of preemptions,
//     one after another, until none is left: "exhausted" is a result.
//
// A Token names one schedule of one program exactly; Replay follows it
// and says where a run leaves it.
package schedule

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/insideout-go/insideout/impl/seam"
)

// A Strategy makes, for each program of a run, the choosers of the
// schedules to try it under.
type Strategy interface {
	// String names the strategy as `insideout verify -sched` takes it:
	// "random", "pct:3", "dfs:2".
	String() string
	// Explore starts the exploration of round's program in a run seeded
	// with seed.
	Explore(seed uint64, round int) Exploration
}

// An Exploration hands out the schedules of one program.
type Exploration interface {
	// Next returns the chooser of the next schedule, or nil when there is
	// none left. prev is the result of the schedule before (nil at first).
	Next(prev *seam.Result) seam.Chooser
}

// Parse reads a strategy as `insideout verify -sched` takes it: random,
// pct or pct:D (depth D, 1 to 10; default 3), dfs or dfs:P (at most P
// preemptions, 0 to 10; default 2).
func Parse(s string) (Strategy, error) {
	name, arg, hasArg := strings.Cut(s, ":")
	num := func(def, lo, hi int, what string) (int, error) {
		if !hasArg {
			return def, nil
		}
		n, err := strconv.Atoi(arg)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("schedule %q: %s must be a whole number from %d to %d", s, what, lo, hi)
		}
		return n, nil
	}
	switch name {
	case "random":
		if hasArg {
			return nil, fmt.Errorf("schedule %q: random takes no argument", s)
		}
		return Random{}, nil
	case "pct":
		d, err := num(3, 1, 10, "the depth")
		return PCT{Depth: d}, err
	case "dfs":
		p, err := num(2, 0, 10, "the preemption bound")
		return DFS{Preemptions: p}, err
	}
	return nil, fmt.Errorf("unknown schedule %q: want random, pct[:depth] or dfs[:preemptions]", s)
}

// mix makes a generator's seed of a run's seed and a round.
func mix(seed uint64, round int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(round)*0x9e3779b97f4a7c15+1))
}

// once is an Exploration of one schedule.
type once struct {
	c    seam.Chooser
	done bool
}

func (o *once) Next(*seam.Result) seam.Chooser {
	if o.done {
		return nil
	}
	o.done = true
	return o.c
}

// Random picks uniformly among the runnable goroutines at each decision;
// one schedule per program.
type Random struct{}

func (Random) String() string { return "random" }

// Explore returns one uniformly random schedule.
func (Random) Explore(seed uint64, round int) Exploration {
	return &once{c: randomChooser{mix(seed, round)}}
}

type randomChooser struct{ r *rand.Rand }

func (c randomChooser) Choose(d *seam.Decision) int { return c.r.IntN(len(d.Runnable)) }

// PCT is probabilistic concurrency testing with bug depth Depth; one
// schedule per program. Steps is its guess of the decisions in a
// schedule, k; zero starts at 64 and learns from the schedules it has
// run.
type PCT struct {
	Depth int
	Steps int
}

func (p PCT) String() string { return "pct:" + strconv.Itoa(p.Depth) }

// Explore returns one PCT schedule.
func (p PCT) Explore(seed uint64, round int) Exploration {
	k := p.Steps
	if k <= 0 {
		k = 64
	}
	r := mix(seed, round)
	c := &pctChooser{r: r, prio: map[int]float64{}, depth: max(p.Depth, 1)}
	for range c.depth - 1 {
		c.change = append(c.change, r.IntN(k))
	}
	return &once{c: c}
}

// Bound is PCT's guarantee: the least probability, per schedule, of
// showing a bug of depth d in a program of n goroutines and k decisions.
func Bound(n, k, d int) float64 {
	if n < 1 || k < 1 || d < 1 {
		return 0
	}
	return 1 / (float64(n) * math.Pow(float64(k), float64(d-1)))
}

type pctChooser struct {
	r      *rand.Rand
	prio   map[int]float64 // goroutine id -> priority; higher goes first
	change []int           // decisions at which the running goroutine drops
	depth  int
}

func (c *pctChooser) Choose(d *seam.Decision) int {
	for _, id := range d.Runnable {
		if _, ok := c.prio[id]; !ok {
			// Initial priorities lie above depth; the i-th change sets one
			// to depth-i, below every initial one.
			c.prio[id] = float64(c.depth) + c.r.Float64()
		}
	}
	if d.Spinning && len(d.Runnable) > 1 {
		c.demote(d.Current)
	}
	best := c.highest(d)
	for i, at := range c.change {
		if at == d.Choice {
			c.prio[d.Runnable[best]] = float64(c.depth - 1 - i)
			best = c.highest(d)
		}
	}
	return best
}

// demote gives id, which spins (seam.Decision.Spinning), a priority below
// every other: a goroutine that waits in a loop nothing has moved lets the
// others go, all of them, before it runs again. Passing over it once, as
// highest does for any Yield, would not do: two goroutines that wait for
// each other in Until, both above a third that could move, would hand the
// turn to each other for ever. A Yield that only opens a window (a step in
// progress) keeps its priority, or PCT would lose the windows it finds.
func (c *pctChooser) demote(id int) {
	low := math.Inf(1)
	for _, p := range c.prio {
		low = min(low, p)
	}
	c.prio[id] = low - 1
}

// highest returns the runnable goroutine of highest priority, passing
// over one that yielded while others can go: priorities would otherwise
// keep a spinning goroutine running for ever.
func (c *pctChooser) highest(d *seam.Decision) int {
	options := d.Runnable
	if d.Yielded && len(options) > 1 {
		options = options[:len(options)-1]
	}
	best := 0
	for i, id := range options {
		if c.prio[id] > c.prio[d.Runnable[best]] {
			best = i
		}
	}
	return best
}

// DFS runs every schedule of a program with at most Preemptions
// preemptions, depth first, up to Limit schedules (0: 10000). It bounds
// the preemptions iteratively, as CHESS does (Musuvathi and Qadeer, PLDI
// 2007): every schedule with none, then every one with at most one, and so
// on up to Preemptions, so that a bug that one preemption shows is found
// among the few schedules of one preemption, not after thousands of two.
// A schedule within a lower bound runs again under the higher ones.
type DFS struct {
	Preemptions int
	Limit       int
}

func (s DFS) String() string { return "dfs:" + strconv.Itoa(s.Preemptions) }

// Explore returns the exploration of every schedule within the bound.
func (s DFS) Explore(uint64, int) Exploration {
	lim := s.Limit
	if lim <= 0 {
		lim = 10000
	}
	return &dfs{max: max(s.Preemptions, 0), limit: lim}
}

// A dfs node is one decision of the schedule being run.
type dfsNode struct {
	n      int // options
	picked int // the option taken
	// preempts[j] says whether option j preempts (seam.Decision.Preempts),
	// for j < len(preempts); none beyond.
	preempts []bool
	before   int // preemptions taken before this decision
}

// cost returns the preemptions taken up to and including option j.
func (nd *dfsNode) cost(j int) int {
	if j < len(nd.preempts) && nd.preempts[j] {
		return nd.before + 1
	}
	return nd.before
}

type dfs struct {
	bound, max int // the preemptions allowed now, and at most
	limit      int
	path       []dfsNode
	runs       int
	exhausted  bool
	mismatch   string
}

// Exhausted reports whether an Exploration made by DFS has run every
// schedule within its bound (and not stopped at its limit).
func Exhausted(e Exploration) bool {
	d, ok := e.(*dfs)
	return ok && d.exhausted
}

// Runs counts the schedules an Exploration has handed out.
func Runs(e Exploration) int {
	if d, ok := e.(*dfs); ok {
		return d.runs
	}
	if o, ok := e.(*once); ok && o.done {
		return 1
	}
	return 0
}

func (s *dfs) Next(prev *seam.Result) seam.Chooser {
	if prev != nil && !s.advance() {
		if s.bound >= s.max {
			s.exhausted = true
			return nil
		}
		s.bound++
		s.path = s.path[:0]
	}
	if s.runs >= s.limit {
		return nil
	}
	s.runs++
	return &dfsChooser{s: s}
}

// advance moves to the next schedule within the bound: the deepest
// decision with an option left, all later ones made afresh.
func (s *dfs) advance() bool {
	for i := len(s.path) - 1; i >= 0; i-- {
		nd := &s.path[i]
		for j := nd.picked + 1; j < nd.n; j++ {
			if nd.cost(j) <= s.bound {
				nd.picked = j
				s.path = s.path[:i+1]
				return true
			}
		}
	}
	return false
}

type dfsChooser struct{ s *dfs }

func (c *dfsChooser) Choose(d *seam.Decision) int {
	s := c.s
	if d.Choice < len(s.path) {
		nd := s.path[d.Choice]
		if nd.n != len(d.Runnable) {
			s.mismatch = fmt.Sprintf("decision %d had %d options before and %d now: the program does not replay", d.Choice, nd.n, len(d.Runnable))
			return -1
		}
		return nd.picked
	}
	before := 0
	if k := len(s.path); k > 0 {
		before = s.path[k-1].cost(s.path[k-1].picked)
	}
	nd := dfsNode{n: len(d.Runnable), before: before}
	for j := range d.Runnable {
		if d.Preempts(j) {
			nd.preempts = make([]bool, len(d.Runnable))
			for k := range d.Runnable {
				nd.preempts[k] = d.Preempts(k)
			}
			break
		}
	}
	s.path = append(s.path, nd)
	return 0
}

func (c *dfsChooser) Stopped() string { return c.s.mismatch }
