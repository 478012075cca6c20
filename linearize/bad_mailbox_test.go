package linearize_test

// A mailbox built the obvious way, a mutex around the reference model,
// with switches for known bugs. Without bugs it is the control: it must
// pass, which also shows the model and the harness accept a second,
// independent implementation. Each bug must be caught.

import (
	"context"
	"runtime"
	"slices"
	"sync"

	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

type mailboxBugs struct {
	// lostWakeup: a Recv that finds nothing drops the lock, then takes it
	// again and goes to sleep without looking again; a send in between
	// wakes nobody, and the Recv sleeps beside the item.
	lostWakeup bool
	// racyCap: TrySend checks for room, drops the lock, then appends, so
	// two senders can both fill the last place.
	racyCap bool
	// interruptOvercount: Interrupt reports having woken n calls, however
	// many it really woke.
	interruptOvercount bool
	// splitBatch: TrySendMany sends its items one at a time, dropping the
	// lock between two, so that another send can come between them.
	splitBatch bool
}

type lockedMailbox struct {
	mu       sync.Mutex
	ref      *model.MailboxRef
	sleepers []*lockedSleeper
	bugs     mailboxBugs
}

type lockedSleeper struct {
	ch chan bool // receives true if interrupted
}

func newLockedMailbox(capacity int, bugs mailboxBugs) *lockedMailbox {
	return &lockedMailbox{ref: model.NewMailboxRef(capacity), bugs: bugs}
}

func val(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// wakeAll wakes every sleeper to look again; m.mu must be held.
func (m *lockedMailbox) wakeAll() {
	for _, s := range m.sleepers {
		s.ch <- false
	}
	m.sleepers = nil
}

// sleep registers a sleeper and waits; m.mu must be held, and is held
// again on return. It reports whether the call was interrupted, or the
// context's error.
func (m *lockedMailbox) sleep(ctx context.Context) (interrupted bool, err error) {
	s := &lockedSleeper{ch: make(chan bool, 1)}
	m.sleepers = append(m.sleepers, s)
	m.mu.Unlock()
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	select {
	case interrupted = <-s.ch:
		m.mu.Lock()
		return interrupted, nil
	case <-done:
		m.mu.Lock()
		if i := slices.Index(m.sleepers, s); i >= 0 {
			m.sleepers = slices.Delete(m.sleepers, i, i+1)
			return false, ctx.Err()
		}
		return <-s.ch, nil
	}
}

// block waits while blocked holds; it returns false (after clearing the
// pending interrupt) or the sleep's verdict. m.mu must be held.
func (m *lockedMailbox) block(ctx context.Context, blocked func() bool) (interrupted bool, err error) {
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

func (m *lockedMailbox) TrySend(v *int) spec.Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bugs.racyCap && v != nil && !m.ref.Paused && !m.ref.WriteClosed && !m.ref.ReadClosed && len(m.ref.Items) < m.ref.Capacity {
		m.mu.Unlock()
		runtime.Gosched() // BUG: the room checked above may be gone
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

func (m *lockedMailbox) Send(v *int) error { return m.SendContext(nil, v) }

func (m *lockedMailbox) SendContext(ctx context.Context, v *int) error {
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

func (m *lockedMailbox) TryRecv() (*int, spec.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, r := m.ref.TryRecv()
	if r != spec.Received {
		return nil, r
	}
	m.wakeAll()
	return &v, r
}

func (m *lockedMailbox) Recv() (*int, error) { return m.RecvContext(nil) }

func (m *lockedMailbox) RecvContext(ctx context.Context) (*int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bugs.lostWakeup && m.ref.RecvBlocked() && !m.ref.Up {
		m.mu.Unlock()
		runtime.Gosched() // BUG: a send here wakes nobody...
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

func (m *lockedMailbox) control(f func() bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	changed := f()
	m.wakeAll()
	return changed
}

func (m *lockedMailbox) Pause() bool      { return m.control(m.ref.Pause) }
func (m *lockedMailbox) Resume() bool     { return m.control(m.ref.Resume) }
func (m *lockedMailbox) CloseWrite() bool { return m.control(m.ref.CloseWrite) }
func (m *lockedMailbox) CloseRead() bool  { return m.control(m.ref.CloseRead) }

func (m *lockedMailbox) Interrupt(n int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	woken := 0
	for woken < n && len(m.sleepers) > 0 {
		m.sleepers[0].ch <- true
		m.sleepers = m.sleepers[1:]
		woken++
	}
	if woken < n {
		m.ref.Up = true
	}
	if m.bugs.interruptOvercount && n > 0 {
		return n // BUG: claims to have woken n
	}
	return woken
}

func (m *lockedMailbox) wait(blocked func() bool, answer func() bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if interrupted, _ := m.block(nil, blocked); interrupted {
		return true
	}
	return answer()
}

func (m *lockedMailbox) WaitPushable() bool { return m.wait(m.ref.SendBlocked, m.ref.Pushable) }
func (m *lockedMailbox) WaitPoppable() bool { return m.wait(m.ref.RecvBlocked, m.ref.Poppable) }
func (m *lockedMailbox) WaitEmpty()         { m.wait(m.ref.EmptyBlocked, func() bool { return true }) }
func (m *lockedMailbox) WaitFull()          { m.wait(m.ref.FullBlocked, func() bool { return true }) }

func (m *lockedMailbox) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ref.Len()
}

func (m *lockedMailbox) Cap() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ref.Cap()
}

func (m *lockedMailbox) SetCap(n int) {
	m.control(func() bool { m.ref.SetCap(n); return true })
}

func (m *lockedMailbox) Clear() int {
	n := 0
	m.control(func() bool { n = m.ref.Clear(); return true })
	return n
}

func (m *lockedMailbox) Drain() []*int {
	var vs []int
	m.control(func() bool { vs = m.ref.Drain(); return true })
	var ps []*int
	for i := range vs {
		ps = append(ps, &vs[i])
	}
	return ps
}

func (m *lockedMailbox) Flags() spec.Flags {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ref.Flags()
}

func (m *lockedMailbox) TrySendMany(vs []*int) (int, spec.Result) {
	if m.bugs.splitBatch && len(vs) > 1 && !slices.Contains(vs, nil) {
		n, r := 0, spec.Delivered
		for _, v := range vs {
			if r = m.TrySend(v); r != spec.Delivered { // BUG: not one operation
				break
			}
			n++
			runtime.Gosched()
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

func (m *lockedMailbox) TryRecvMany(dst []*int) (int, spec.Result) {
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

var _ spec.Mailbox[int] = (*lockedMailbox)(nil)
