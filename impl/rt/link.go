package rt

import (
	"fmt"

	"github.com/insideout-go/insideout/spec"
)

// Link links r and other both ways: the teardown of either halts the
// other. It fails with spec.ErrSelfLink for r itself, and with
// spec.ErrTornDown if either has torn down.
func (r *Runtime) Link(other *Runtime) error {
	if other == r {
		return spec.ErrSelfLink
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
	if r.flags.Load()&uint32(spec.RtTeardown) != 0 {
		return fmt.Errorf("linking %s: %w", r, spec.ErrTornDown)
	}
	if r.links == nil {
		r.links = make(map[*Runtime]struct{})
	}
	r.links[other] = struct{}{}
	r.setFlags(spec.RtLinked, 0)
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
	if len(r.links) == 0 && r.flags.Load()&uint32(spec.RtTeardown) == 0 {
		r.setFlags(0, spec.RtLinked)
	}
}

func (r *Runtime) unlinkAll() {
	for _, p := range r.opts.links {
		r.Unlink(p)
	}
}
