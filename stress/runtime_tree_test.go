package stress

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// A tree of linked runtimes: node i > 0 is spawned linked to its parent.
type rtTree struct {
	nodes  []*rt.Runtime
	parent []int // parent[0] = -1
	fail   []chan struct{}
	value  []string // the panic value of each node, should it fail
}

// treeConfig shapes one tree.
type treeConfig struct {
	size   int
	seed   uint64
	frozen int // nodes frozen (at spawn or later) before the teardown starts; never the failing one
}

// parentOf draws a random recursive tree, with a bias towards chains, so
// that some failures cross a dozen links.
func parentOf(r *rand.Rand, i int) int {
	if r.IntN(3) == 0 {
		return i - 1
	}
	return r.IntN(i)
}

// spawnTree spawns cfg.size runtimes, each linked to its parent from its
// first step. Three in four wait on their step context (a step that sleeps
// in a context-aware wait, woken by Halt); the others loop, a short step
// at a time. A node fails, by panicking, once its fail channel is closed.
// skip is a node that must not be frozen.
func spawnTree(cfg treeConfig, skip int) (*rtTree, error) {
	r := rand.New(rand.NewPCG(cfg.seed, 0x7ee))
	tr := &rtTree{
		nodes: make([]*rt.Runtime, cfg.size), parent: make([]int, cfg.size),
		fail: make([]chan struct{}, cfg.size), value: make([]string, cfg.size),
	}
	frozen := map[int]bool{}
	for len(frozen) < min(cfg.frozen, cfg.size-1) {
		if i := r.IntN(cfg.size); i != skip {
			frozen[i] = true
		}
	}
	for i := range cfg.size {
		tr.fail[i] = make(chan struct{})
		tr.value[i] = fmt.Sprintf("node %d fails", i)
		fail, value := tr.fail[i], tr.value[i]
		var step cont.Step
		if r.IntN(4) != 0 {
			step = func(ctx context.Context, c *cont.C) cont.Step {
				select {
				case <-ctx.Done():
					return c.Next()
				case <-fail:
					panic(value)
				}
			}
		} else {
			pause := time.Duration(10+r.IntN(90)) * time.Microsecond
			step = func(ctx context.Context, c *cont.C) cont.Step {
				select {
				case <-fail:
					panic(value)
				default:
				}
				time.Sleep(pause) // a little work
				return c.Next()
			}
		}
		opts := []rt.Option{rt.Name(fmt.Sprintf("node-%d", i))}
		// Half the frozen ones are spawned frozen, half frozen later.
		startFrozen := frozen[i] && i%2 == 0
		if startFrozen {
			opts = append(opts, rt.StartFrozen())
		}
		var err error
		if i == 0 {
			tr.parent[0] = -1
			tr.nodes[0], err = rt.Spawn(cont.New(step), opts...)
		} else {
			tr.parent[i] = parentOf(r, i)
			tr.nodes[i], err = tr.nodes[tr.parent[i]].SpawnLink(cont.New(step), opts...)
		}
		if err != nil {
			tr.halt()
			return nil, fmt.Errorf("spawning node %d: %w", i, err)
		}
		if frozen[i] && !startFrozen {
			tr.nodes[i].Freeze()
		}
	}
	return tr, nil
}

// halt halts every node spawned, for cleanup.
func (tr *rtTree) halt() {
	for _, n := range tr.nodes {
		if n != nil {
			n.Halt()
		}
	}
}

// waitDead waits until every node is Dead, up to limit, and names those
// that are not.
func (tr *rtTree) waitDead(limit time.Duration) string {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for i, n := range tr.nodes {
		select {
		case <-n.Done():
		case <-deadline.C:
			var alive []string
			for j, n := range tr.nodes[i:] {
				if n.Flags()&spec.RtDead == 0 {
					alive = append(alive, fmt.Sprintf("node %d (%v)", i+j, n.Flags()))
				}
			}
			return strings.Join(alive, ", ")
		}
	}
	return ""
}

// path returns the nodes from u to v in the tree, u excluded, v included.
func (tr *rtTree) path(u, v int) []int {
	aboveV := map[int]bool{} // v and its ancestors
	for x := v; x >= 0; x = tr.parent[x] {
		aboveV[x] = true
	}
	var p []int
	x := u
	for !aboveV[x] { // up from u to the lowest common ancestor, included
		x = tr.parent[x]
		p = append(p, x)
	}
	var down []int // from v up to the lowest common ancestor, excluded
	for y := v; y != x; y = tr.parent[y] {
		down = append(down, y)
	}
	slices.Reverse(down)
	return append(p, down...)
}

// treeFlags are the flags of a node torn down after a halt.
const treeFlags = spec.RtHalted | spec.RtTeardown | spec.RtDead | spec.RtLinked | spec.RtCancels

// linkTreeFailure spawns a tree, makes node failing panic, and checks that
// the whole tree tears down, each node with the error the rules give it.
func linkTreeFailure(cfg treeConfig, failing int) result {
	var res result
	tr, err := spawnTree(cfg, failing)
	if err != nil {
		res.problemf("%v", err)
		return res
	}
	begin := time.Now()
	close(tr.fail[failing])
	if alive := tr.waitDead(rtDeadLimit); alive != "" {
		// The bug: a failure that does not reach every linked runtime (a
		// link lost, a teardown that halts no peer), or a frozen runtime
		// that a linked halt does not wake.
		res.problemf("seed %#x, node %d failing: still not Dead after %v: %s", cfg.seed, failing, rtDeadLimit, alive)
		tr.halt()
		if alive := tr.waitDead(rtDeadLimit); alive != "" {
			res.problemf("and still not Dead after a Halt of every node: %s", alive)
			return res
		}
	}
	depth := 0
	for i, n := range tr.nodes {
		err := n.Join()
		// The bug: flags that outlive teardown (Running, Polling, Frozen)
		// or lose what teardown keeps (Halted, Linked).
		if f := n.Flags(); f != treeFlags {
			res.problemf("node %d: Flags = %v after Join, want %v", i, f, treeFlags)
		}
		var pe *rt.PanicError
		if !errors.As(err, &pe) || pe.Value != tr.value[failing] {
			// The bug: the panic's value lost on the way, or another
			// cause reported.
			res.problemf("node %d: error %v does not carry the panic of node %d", i, err, failing)
			continue
		}
		if i == failing {
			// The bug: the failing runtime's own panic not reported as
			// ErrPanicked, or reported as a linked failure.
			if !errors.Is(err, spec.ErrPanicked) || errors.Is(err, spec.ErrLinkedFailure) {
				res.problemf("node %d (failing): error %v, want ErrPanicked and not ErrLinkedFailure", i, err)
			}
			continue
		}
		// The bug: a runtime halted by a linked failure that reports nil
		// (as if halted), or does not let the cause show through.
		if !errors.Is(err, spec.ErrLinkedFailure) || !errors.Is(err, spec.ErrPanicked) {
			res.problemf("node %d: error %v, want ErrLinkedFailure wrapping ErrPanicked", i, err)
			continue
		}
		// The chain of peers named by the errors is the way the failure
		// came: each link a link of the tree, each error set before the
		// next one down the chain, so it can only be the tree's path from
		// this node to the failing one.
		var chain []int
		for e := err; ; {
			le, ok := e.(*rt.LinkedError)
			if !ok {
				break
			}
			id, convErr := strconv.Atoi(strings.TrimPrefix(le.Peer, "node-"))
			if convErr != nil {
				chain = append(chain, -1)
				break
			}
			chain = append(chain, id)
			e = le.Err
		}
		depth = max(depth, len(chain))
		// The bug: a cascade whose errors name the wrong peer (one not
		// linked, or not the one whose teardown halted this runtime), or
		// lose a link of the chain.
		if want := tr.path(i, failing); !slices.Equal(chain, want) {
			res.problemf("node %d: the errors name the chain %v, want the tree's path %v to the failing node %d", i, chain, want, failing)
		}
	}
	res.logf("seed %#x: %d linked runtimes, %d frozen, node %d failed: all Dead in %v, chains of up to %d links (chaos %v)",
		cfg.seed, cfg.size, cfg.frozen, failing, time.Since(begin).Round(time.Microsecond), depth, chaos.Enabled)
	return res
}

// linkTreeHalt spawns a tree and halts one node: the teardown of a linked
// runtime halts its peers, so the whole tree tears down, and, no runtime
// having failed, every Join returns nil.
func linkTreeHalt(cfg treeConfig, halted int) result {
	var res result
	tr, err := spawnTree(cfg, -1)
	if err != nil {
		res.problemf("%v", err)
		return res
	}
	begin := time.Now()
	// The bug: Halt of a running runtime that reports it halted already.
	if !tr.nodes[halted].Halt() {
		res.problemf("node %d: Halt reported the runtime halted already", halted)
	}
	if alive := tr.waitDead(rtDeadLimit); alive != "" {
		// The bug: a teardown that does not halt linked runtimes, or a
		// frozen one that a linked halt does not wake.
		res.problemf("seed %#x, node %d halted: still not Dead after %v: %s", cfg.seed, halted, rtDeadLimit, alive)
		tr.halt()
		if alive := tr.waitDead(rtDeadLimit); alive != "" {
			res.problemf("and still not Dead after a Halt of every node: %s", alive)
			return res
		}
	}
	for i, n := range tr.nodes {
		// The bug: a runtime torn down by a peer's plain Halt that reports
		// an error (Halt is no failure: spec.Runtime's Join returns nil
		// after a Halt, and ErrLinkedFailure only for a failure).
		if err := n.Join(); err != nil {
			res.problemf("node %d: Join = %v after node %d was halted, want nil", i, err, halted)
		}
		if f := n.Flags(); f != treeFlags {
			res.problemf("node %d: Flags = %v after Join, want %v", i, f, treeFlags)
		}
	}
	res.logf("seed %#x: %d linked runtimes, %d frozen, node %d halted: all Dead in %v (chaos %v)",
		cfg.seed, cfg.size, cfg.frozen, halted, time.Since(begin).Round(time.Microsecond), chaos.Enabled)
	return res
}

// Trees of 100 linked runtimes, some frozen, most asleep in their step's
// context, some looping; one node, chosen at random (a leaf, the root,
// any), panics. Every runtime must become Dead; the failing one's error
// is ErrPanicked, every other one's ErrLinkedFailure wrapping it, and the
// peers that the chain of errors names are the tree's path to the failing
// node.
//
// The bug: a failure that stops at some link, a frozen runtime that a
// linked halt does not wake, a linked runtime that reports nil or the
// wrong cause, a cascade whose errors do not say how it came; under -race,
// any unsynchronised access between teardowns running at once.
func TestRuntimeLinkTreeFailure(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	chaos.SetSeed(seed)
	r := rand.New(rand.NewPCG(seed, 0x1ee))
	for round := range treeRounds * soak(t) {
		cfg := treeConfig{size: treeSize, seed: seed + uint64(round), frozen: r.IntN(treeSize / 4)}
		var failing int
		switch round {
		case 0: // a leaf: the last node spawned is always one
			failing = cfg.size - 1
		case 1: // the root
			failing = 0
		default:
			failing = r.IntN(cfg.size)
		}
		res := linkTreeFailure(cfg, failing)
		res.report(t)
		if t.Failed() {
			return
		}
	}
}

// The same trees, torn down by a plain Halt of the root or of any node.
//
// The bug: a teardown that does not halt linked runtimes, a frozen one
// not woken by a linked halt, a runtime halted through a link that
// reports an error though nothing failed.
func TestRuntimeLinkTreeHalt(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	chaos.SetSeed(seed)
	r := rand.New(rand.NewPCG(seed, 0x2ee))
	for round := range treeRounds * soak(t) {
		cfg := treeConfig{size: treeSize, seed: seed + uint64(round), frozen: r.IntN(treeSize / 4)}
		halted := 0
		if round%2 == 1 {
			halted = r.IntN(cfg.size)
		}
		res := linkTreeHalt(cfg, halted)
		res.report(t)
		if t.Failed() {
			return
		}
	}
}
