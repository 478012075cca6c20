package rt

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/seam"
)

// Leftovers returns, once the runtime is Dead, the continuations it had
// not finished: the one in hand (unless Cancel dropped it), those its
// event queue had handed out and not run to the end, and those still
// registered there (its Close hands them back). Before Dead it returns
// nil.
func (r *Runtime) Leftovers() []*cont.C {
	if r.flags.Load()&uint32(FlagDead) == 0 { // Dead is set just before done is closed
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.left)
}

// teardown ends the runtime: final error, flags, linked runtimes, Dead.
func (r *Runtime) teardown(err error) {
	seam.Point() // a Cancel may come now
	r.mu.Lock()
	// Teardown goes on by the CAS that reads whether Cancel came first:
	// Cancel's own CAS fails once Teardown is on, so a Cancel that
	// succeeded is always seen here and makes the error ErrCanceled.
	var f uint32
	r.update(func(old uint32) (uint32, bool) {
		f = old
		return old&^uint32(FlagRunning|FlagPolling|FlagBoot|FlagFrozen) | uint32(FlagTeardown), true
	})
	if f&canceled != 0 {
		r.c = nil // a canceled continuation never runs again
		if err == nil {
			err = ErrCanceled
		}
	}
	// Nothing is lost: what the runtime had not finished stays countable.
	if r.c != nil && r.c != r.sigs && !r.c.Done() {
		r.left = append(r.left, r.c)
	}
	for _, c := range r.runq {
		if c != r.sigs {
			r.left = append(r.left, c)
		}
	}
	r.runq = nil
	if q := r.evq.Load(); q != nil {
		held, qerr := q.Close()
		for _, c := range held {
			if c != r.sigs {
				r.left = append(r.left, c)
			}
		}
		if err == nil && qerr != nil {
			err = fmt.Errorf("runtime %s: closing its event queue: %w", r, qerr)
		}
	}
	if r.err == nil {
		r.err = err
	}
	r.cond.Broadcast()
	peers := make([]*Runtime, 0, len(r.links))
	for p := range r.links {
		peers = append(peers, p)
	}
	// In the order they were spawned, not the map's: under the controlled
	// scheduler a schedule must replay step for step.
	slices.SortFunc(peers, func(a, b *Runtime) int { return cmp.Compare(a.seq, b.seq) })
	failed := r.err
	r.mu.Unlock()
	for _, p := range peers {
		p.haltLinked(r, failed)
	}
	r.setFlags(FlagDead, 0)
	seam.Close(r.done)
}

// haltLinked halts r because linked runtime peer tore down; if peer
// failed, r's error says so.
func (r *Runtime) haltLinked(peer *Runtime, failed error) {
	if failed != nil {
		r.mu.Lock()
		if r.err == nil && r.flags.Load()&uint32(FlagTeardown) == 0 {
			r.err = &LinkedError{Peer: peer.String(), Err: failed}
		}
		r.mu.Unlock()
	}
	r.Halt()
}
