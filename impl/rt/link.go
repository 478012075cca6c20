package rt

import "fmt"

// Link links r and other both ways: the teardown of either halts the
// other. It fails with ErrSelfLink for r itself, and with
// ErrTornDown if either has torn down; a Link that fails has linked
// nothing, not even for a moment.
func (r *Runtime) Link(other *Runtime) error {
	if other == r {
		return ErrSelfLink
	}
	// Both halves at once, under both locks (taken in the order the two
	// were spawned): a teardown, which reads its links under its own lock
	// after setting Teardown, sees both halves or neither.
	a, b := r, other
	if a.seq > b.seq {
		a, b = b, a
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, x := range []*Runtime{r, other} {
		if x.flags.Load()&uint32(FlagTeardown) != 0 {
			return fmt.Errorf("linking %s: %w", x, ErrTornDown)
		}
	}
	r.link1(other)
	other.link1(r)
	return nil
}

// link1 records half a link; r.mu is held.
func (r *Runtime) link1(other *Runtime) {
	if r.links == nil {
		r.links = make(map[*Runtime]struct{})
	}
	r.links[other] = struct{}{}
	r.setFlags(FlagLinked, 0)
}

// Unlink undoes Link; it does nothing if they are not linked.
func (r *Runtime) Unlink(other *Runtime) {
	r.unlink1(other)
	other.unlink1(r)
}

func (r *Runtime) unlink1(other *Runtime) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.links, other)
	if len(r.links) == 0 && r.flags.Load()&uint32(FlagTeardown) == 0 {
		r.setFlags(0, FlagLinked)
	}
}

func (r *Runtime) unlinkAll() {
	for _, p := range r.opts.links {
		r.Unlink(p)
	}
}
