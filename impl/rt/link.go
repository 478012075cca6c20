package rt

import (
	"fmt"
)

// Link links r and other both ways: the teardown of either halts the
// other. It fails with ErrSelfLink for r itself, and with
// ErrTornDown if either has torn down.
func (r *Runtime) Link(other *Runtime) error {
	if other == r {
		return ErrSelfLink
	}
	if err := r.link1(other); err != nil {
		return err
	}
	if err := other.link1(r); err != nil {
		r.unlink1(other)
		return err
	}
	return nil
}

func (r *Runtime) link1(other *Runtime) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.flags.Load()&uint32(FlagTeardown) != 0 {
		return fmt.Errorf("linking %s: %w", r, ErrTornDown)
	}
	if r.links == nil {
		r.links = make(map[*Runtime]struct{})
	}
	r.links[other] = struct{}{}
	r.setFlags(FlagLinked, 0)
	return nil
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
