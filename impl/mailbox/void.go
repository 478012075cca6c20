package mailbox

// Void is a mailbox that carries no items, only its state: a gate to wait
// on. Its capacity is 0, so it is always Empty and Full; it can be paused,
// resumed, closed and interrupted like any mailbox, and its Wait calls
// sleep while it is paused. See spec.Mailbox. The zero value is not usable;
// call NewVoid. All methods are safe for concurrent use.
type Void struct {
	core
}

// NewVoid returns a void mailbox, running and open.
func NewVoid() *Void {
	v := new(Void)
	v.tail.Store(capField(0))
	return v
}

func voidBlocked(s snap) bool { return s.t&paused != 0 }

// WaitPushable sleeps while the mailbox is paused, then reports whether it
// is still writable (open at both ends). An interrupted wait reports true.
func (v *Void) WaitPushable() bool {
	s, interrupted := v.waitFor(voidBlocked)
	return interrupted || !s.unwritable()
}

// WaitPoppable sleeps while the mailbox is paused, then reports whether it
// is still readable (open at both ends, since it never holds an item). An
// interrupted wait reports true.
func (v *Void) WaitPoppable() bool {
	s, interrupted := v.waitFor(voidBlocked)
	return interrupted || !s.unreadable()
}

// WaitEmpty returns at once: a void mailbox is always empty.
func (v *Void) WaitEmpty() {}

// WaitFull returns at once: a void mailbox is always full.
func (v *Void) WaitFull() {}

// Pause closes the gate; it reports whether it was open.
func (v *Void) Pause() bool { return v.pause() }

// Resume opens the gate, waking everyone waiting at it; it reports
// whether it was paused.
func (v *Void) Resume() bool { return v.resume() }

// CloseWrite closes the mailbox for writing; it reports whether this call
// closed it.
func (v *Void) CloseWrite() bool { return v.close(writeClosed) }

// CloseRead closes the mailbox for reading; it reports whether this call
// closed it.
func (v *Void) CloseRead() bool { return v.close(readClosed) }

// Interrupt wakes up to n waiting calls and returns how many it woke; if
// fewer than n, the next call that would wait returns at once instead.
func (v *Void) Interrupt(n int) int { return v.interrupt(n) }

// Flags returns the flags at one instant.
func (v *Void) Flags() Flags { return v.flags() }
