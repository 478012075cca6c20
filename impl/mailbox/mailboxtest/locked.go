package mailboxtest

// Locked: a mailbox built the obvious way, a mutex around the reference
// model, with switches for known bugs.

import (
	"context"
	"slices"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// Locked returns an empty mailbox of capacity capacity built the obvious
// way, a mutex around the reference model (model.MailboxRef), with the
// given bugs: any of LostWakeup, RacyCap, SplitBatch and
// InterruptOvercount, or none. Without bugs it is the control: it must
// pass the scenario, which also shows that the model and the harness
// accept a second, independent implementation. With a bug, the scenario
// must catch it, as the bug's doc comment says. Locked panics if handed a
// bug of another constructor.
func Locked(capacity int, bugs ...Bug) Mailbox {
	m := &locked{ref: model.NewMailboxRef(capacity)}
	for _, b := range bugs {
		b.mustBe("Locked", firstLocked, firstBroken)
		m.bugs |= 1 << b
	}
	return m
}

// locked is the mailbox Locked returns.
type locked struct {
	mu       seam.Mutex
	ref      *model.MailboxRef
	sleepers []*sleeper
	bugs     uint64 // bit b set: the mailbox has Bug b
}

func (m *locked) has(b Bug) bool { return m.bugs&(1<<b) != 0 }

// sleeper is a call of a locked mailbox asleep until a change wakes it.
// Whoever takes it off m.sleepers, under m.mu, unparks it, once (having
// set interrupted, for Interrupt): its parker never gets a second permit,
// which the buffered channel it replaces could not have held.
type sleeper struct {
	p           seam.Parker
	interrupted bool // under m.mu: the wake-up was an interrupt
}

// val is the model's value of an item: nil is 0.
func val(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// wakeAll wakes every sleeper to look again; m.mu must be held.
func (m *locked) wakeAll() {
	for _, s := range m.sleepers {
		s.p.Unpark()
	}
	m.sleepers = nil
}

// sleep registers a sleeper and waits; m.mu must be held, and is held
// again on return. It reports whether the call was interrupted, or the
// context's error.
func (m *locked) sleep(ctx context.Context) (interrupted bool, err error) {
	s := &sleeper{p: seam.MakeParker()}
	m.sleepers = append(m.sleepers, s)
	m.mu.Unlock()
	if s.p.ParkOr(ctx.Done()) {
		m.mu.Lock()
		return s.interrupted, nil
	}
	m.mu.Lock()
	if i := slices.Index(m.sleepers, s); i >= 0 {
		m.sleepers = slices.Delete(m.sleepers, i, i+1)
		return false, ctx.Err()
	}
	// A waker took it off the list first, and unparked it under m.mu: the
	// permit is there, and taking it does not wait.
	s.p.Park()
	return s.interrupted, nil
}

// block waits while blocked holds; it returns false (after clearing the
// pending interrupt) or the sleep's verdict. m.mu must be held.
func (m *locked) block(ctx context.Context, blocked func() bool) (interrupted bool, err error) {
	for blocked() {
		if m.ref.Interrupted() {
			return true, nil
		}
		if interrupted, err = m.sleep(ctx); interrupted || err != nil {
			return interrupted, err
		}
	}
	return false, nil
}

func (m *locked) TrySend(v *int) spec.Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.has(RacyCap) && v != nil && !m.ref.Paused && !m.ref.WriteClosed && !m.ref.ReadClosed && len(m.ref.Items) < m.ref.Capacity {
		m.mu.Unlock()
		seam.Yield() // BUG: the room checked above may be gone
		m.mu.Lock()
		m.ref.Items = append(m.ref.Items, *v)
		m.wakeAll()
		return spec.Delivered
	}
	r := m.ref.TrySend(val(v))
	if r == spec.Delivered {
		m.wakeAll()
	}
	return r
}

func (m *locked) Send(v *int) error { return m.SendContext(context.Background(), v) }

func (m *locked) SendContext(ctx context.Context, v *int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v != nil {
		if interrupted, err := m.block(ctx, m.ref.SendBlocked); err != nil {
			return err
		} else if interrupted {
			return spec.ErrInterrupted
		}
	}
	switch m.ref.TrySend(val(v)) {
	case spec.Nil:
		return spec.ErrNil
	case spec.Unwritable:
		return spec.ErrUnwritable
	}
	m.wakeAll()
	return nil
}

func (m *locked) TryRecv() (*int, spec.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, r := m.ref.TryRecv()
	if r != spec.Received {
		return nil, r
	}
	m.wakeAll()
	return &v, r
}

func (m *locked) Recv() (*int, error) { return m.RecvContext(context.Background()) }

func (m *locked) RecvContext(ctx context.Context) (*int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.has(LostWakeup) && m.ref.RecvBlocked() && !m.ref.Up {
		m.mu.Unlock()
		seam.Yield() // BUG: a send here wakes nobody...
		m.mu.Lock()
		if interrupted, err := m.sleep(ctx); err != nil { // ...and this sleeps without looking
			return nil, err
		} else if interrupted {
			return nil, spec.ErrInterrupted
		}
	}
	if interrupted, err := m.block(ctx, m.ref.RecvBlocked); err != nil {
		return nil, err
	} else if interrupted {
		return nil, spec.ErrInterrupted
	}
	v, r := m.ref.TryRecv()
	if r == spec.Unreadable {
		return nil, spec.ErrUnreadable
	}
	m.wakeAll()
	return &v, nil
}

func (m *locked) control(f func() bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	changed := f()
	m.wakeAll()
	return changed
}

func (m *locked) Pause() bool      { return m.control(m.ref.Pause) }
func (m *locked) Resume() bool     { return m.control(m.ref.Resume) }
func (m *locked) CloseWrite() bool { return m.control(m.ref.CloseWrite) }
func (m *locked) CloseRead() bool  { return m.control(m.ref.CloseRead) }

func (m *locked) Interrupt(n int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	woken := 0
	for woken < n && len(m.sleepers) > 0 {
		m.sleepers[0].interrupted = true
		m.sleepers[0].p.Unpark()
		m.sleepers = m.sleepers[1:]
		woken++
	}
	if woken < n {
		m.ref.Up = true
	}
	if m.has(InterruptOvercount) && n > 0 {
		return n // BUG: claims to have woken n
	}
	return woken
}

func (m *locked) wait(blocked func() bool, answer func() bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if interrupted, _ := m.block(context.Background(), blocked); interrupted {
		return true
	}
	return answer()
}

func (m *locked) WaitPushable() bool { return m.wait(m.ref.SendBlocked, m.ref.Pushable) }
func (m *locked) WaitPoppable() bool { return m.wait(m.ref.RecvBlocked, m.ref.Poppable) }
func (m *locked) WaitEmpty()         { m.wait(m.ref.EmptyBlocked, func() bool { return true }) }
func (m *locked) WaitFull()          { m.wait(m.ref.FullBlocked, func() bool { return true }) }

func (m *locked) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ref.Len()
}

func (m *locked) Cap() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ref.Cap()
}

func (m *locked) SetCap(n int) {
	m.control(func() bool { m.ref.SetCap(n); return true })
}

func (m *locked) Clear() int {
	n := 0
	m.control(func() bool { n = m.ref.Clear(); return true })
	return n
}

func (m *locked) Drain() []*int {
	var vs []int
	m.control(func() bool { vs = m.ref.Drain(); return true })
	var ps []*int
	for i := range vs {
		ps = append(ps, &vs[i])
	}
	return ps
}

func (m *locked) Flags() spec.Flags {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ref.Flags()
}

func (m *locked) TrySendMany(vs []*int) (int, spec.Result) {
	if m.has(SplitBatch) && len(vs) > 1 && !slices.Contains(vs, nil) {
		n, r := 0, spec.Delivered
		for _, v := range vs {
			if r = m.TrySend(v); r != spec.Delivered { // BUG: not one operation
				break
			}
			n++
			seam.Yield()
		}
		if n > 0 {
			r = spec.Delivered
		}
		return n, r
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	vals := make([]int, len(vs))
	for i, v := range vs {
		vals[i] = val(v)
	}
	n, r := m.ref.TrySendMany(vals)
	if n > 0 {
		m.wakeAll()
	}
	return n, r
}

func (m *locked) TryRecvMany(dst []*int) (int, spec.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs, r := m.ref.TryRecvMany(len(dst))
	for i, v := range vs {
		dst[i] = &v
	}
	if len(vs) > 0 {
		m.wakeAll()
	}
	return len(vs), r
}

var _ Mailbox = (*locked)(nil)
