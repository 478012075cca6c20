package model

import (
	"fmt"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/spec"
)

// MailboxRef is the reference sequential mailbox of spec.Mailbox, over int
// items (0 stands for nil): a slice, a capacity and four booleans, with
// the rules written out one by one. It has no sleepers: a blocking call
// that would sleep is for the caller to avoid (see SendBlocked and
// friends), except that a pending interrupt stops it, as the rules say.
type MailboxRef struct {
	Items                               []int
	Capacity                            int // spec.Unbounded for no limit
	Void                                bool
	Paused, ReadClosed, WriteClosed, Up bool // Up: an interrupt is pending
}

// NewMailboxRef returns the reference mailbox of capacity capacity.
func NewMailboxRef(capacity int) *MailboxRef { return &MailboxRef{Capacity: capacity} }

// NewVoidRef returns the reference void mailbox.
func NewVoidRef() *MailboxRef { return &MailboxRef{Void: true} }

func (m *MailboxRef) full() bool       { return len(m.Items) >= m.Capacity }
func (m *MailboxRef) unwritable() bool { return m.WriteClosed || m.ReadClosed }
func (m *MailboxRef) unreadable() bool {
	return m.ReadClosed || m.WriteClosed && len(m.Items) == 0
}

// TrySend applies spec.Mailbox's TrySend rules, in order.
func (m *MailboxRef) TrySend(v int) spec.Result {
	switch {
	case v == 0:
		return spec.Nil
	case m.Paused:
		return spec.Paused
	case m.unwritable():
		return spec.Unwritable
	case m.full():
		return spec.Full
	}
	m.Items = append(m.Items, v)
	return spec.Delivered
}

// TryRecv applies spec.Mailbox's TryRecv rules, in order.
func (m *MailboxRef) TryRecv() (int, spec.Result) {
	switch {
	case m.Paused:
		return 0, spec.Paused
	case m.ReadClosed:
		return 0, spec.Unreadable
	case len(m.Items) == 0 && m.WriteClosed:
		return 0, spec.Unreadable
	case len(m.Items) == 0:
		return 0, spec.Empty
	}
	v := m.Items[0]
	m.Items = m.Items[1:]
	return v, spec.Received
}

// TrySendMany applies spec.Mailbox's TrySendMany rules: Nil if any item
// is 0 (nil), then TrySend's rules for the first item, then as many items
// as there is room for, all at once (the most the rules allow; Mailbox
// also accepts fewer, as they do).
func (m *MailboxRef) TrySendMany(vs []int) (int, spec.Result) {
	switch {
	case slices.Contains(vs, 0):
		return 0, spec.Nil
	case m.Paused:
		return 0, spec.Paused
	case m.unwritable():
		return 0, spec.Unwritable
	case m.full():
		return 0, spec.Full
	}
	n := min(len(vs), m.Capacity-len(m.Items))
	m.Items = append(m.Items, vs[:n]...)
	return n, spec.Delivered
}

// TryRecvMany applies spec.Mailbox's TryRecvMany rules for a buffer of
// max items: TryRecv's rules, then the first min(max, Len) items at once
// (the most the rules allow; Mailbox also accepts fewer, as they do).
func (m *MailboxRef) TryRecvMany(max int) ([]int, spec.Result) {
	switch {
	case m.Paused:
		return nil, spec.Paused
	case m.ReadClosed:
		return nil, spec.Unreadable
	case len(m.Items) == 0 && m.WriteClosed:
		return nil, spec.Unreadable
	case len(m.Items) == 0:
		return nil, spec.Empty
	}
	n := min(max, len(m.Items))
	vs := slices.Clone(m.Items[:n])
	m.Items = m.Items[n:]
	return vs, spec.Received
}

// SendBlocked reports whether Send(v) would sleep: TrySend would report
// Paused or Full. WaitPushable sleeps in the same states.
func (m *MailboxRef) SendBlocked() bool {
	if m.Void {
		return m.Paused
	}
	return m.Paused || !m.unwritable() && m.full()
}

// RecvBlocked reports whether Recv would sleep: TryRecv would report
// Paused or Empty. WaitPoppable sleeps in the same states.
func (m *MailboxRef) RecvBlocked() bool {
	if m.Void {
		return m.Paused
	}
	return m.Paused || !m.unreadable() && len(m.Items) == 0
}

// EmptyBlocked and FullBlocked report whether WaitEmpty and WaitFull would
// sleep.
func (m *MailboxRef) EmptyBlocked() bool { return !m.Void && len(m.Items) > 0 }
func (m *MailboxRef) FullBlocked() bool  { return !m.Void && !m.full() }

// Interrupted reports whether a call that would sleep returns at once
// because an interrupt is pending, and clears the pending interrupt.
func (m *MailboxRef) Interrupted() bool {
	up := m.Up
	m.Up = false
	return up
}

// Pushable is WaitPushable's answer once it does not sleep; Poppable is
// WaitPoppable's.
func (m *MailboxRef) Pushable() bool { return !m.unwritable() }
func (m *MailboxRef) Poppable() bool { return !m.unreadable() }

// Pause, Resume, CloseWrite and CloseRead set their facts and report
// whether they changed them.
func (m *MailboxRef) Pause() bool      { return flip(&m.Paused, true) }
func (m *MailboxRef) Resume() bool     { return flip(&m.Paused, false) }
func (m *MailboxRef) CloseWrite() bool { return flip(&m.WriteClosed, true) }
func (m *MailboxRef) CloseRead() bool  { return flip(&m.ReadClosed, true) }

func flip(b *bool, to bool) bool {
	changed := *b != to
	*b = to
	return changed
}

// Interrupt with nobody asleep wakes no one: it leaves an interrupt
// pending if n > 0, and returns 0.
func (m *MailboxRef) Interrupt(n int) int {
	if n > 0 {
		m.Up = true
	}
	return 0
}

// Len, Cap and SetCap.
func (m *MailboxRef) Len() int     { return len(m.Items) }
func (m *MailboxRef) Cap() int     { return m.Capacity }
func (m *MailboxRef) SetCap(n int) { m.Capacity = n }
func (m *MailboxRef) Clear() int   { return len(m.Drain()) }
func (m *MailboxRef) Drain() []int { d := m.Items; m.Items = nil; return d }
func (m *MailboxRef) Flags() spec.Flags {
	var f spec.Flags
	set := func(on bool, flag spec.Flags) {
		if on {
			f |= flag
		}
	}
	set(m.Up, spec.FlagInterrupt)
	set(m.Paused, spec.FlagPaused)
	set(len(m.Items) == 0, spec.FlagEmpty)
	set(m.full(), spec.FlagFull)
	set(!m.unreadable(), spec.FlagReadable)
	set(!m.unwritable(), spec.FlagWritable)
	set(m.Capacity != spec.Unbounded, spec.FlagBounded)
	return f
}

// MailboxOp names an operation of spec.Mailbox in a recorded history.
type MailboxOp uint8

const (
	MbTrySend MailboxOp = iota // Value: the item (0 for nil)
	MbSend                     // Value: the item; also SendContext
	MbTryRecv
	MbRecv // also RecvContext
	MbPause
	MbResume
	MbCloseWrite
	MbCloseRead
	MbInterrupt // N: how many to wake
	MbWaitPushable
	MbWaitPoppable
	MbWaitEmpty
	MbWaitFull
	MbLen
	MbCap
	MbSetCap // N: the capacity
	MbFlags
	MbClear
	MbDrain
	MbTrySendMany // Values: the items (0 for nil)
	MbTryRecvMany // N: the room in the buffer
	mbOps
)

var mbNames = [mbOps]string{"trySend", "send", "tryRecv", "recv", "pause", "resume", "closeWrite", "closeRead",
	"interrupt", "waitPushable", "waitPoppable", "waitEmpty", "waitFull", "len", "cap", "setCap", "flags",
	"clear", "drain", "trySendMany", "tryRecvMany"}

// MailboxInput records the call of one mailbox operation.
type MailboxInput struct {
	Op     MailboxOp
	Value  int   // the item of a send or take (0: nil)
	N      int   // Interrupt's n, SetCap's capacity, TryRecvMany's room
	Values []int // TrySendMany's items
}

// MailboxOutput records the return of one mailbox operation. Result is
// the spec.Result of the Try forms, and of the blocking forms mapped from
// their error (Delivered or Received for nil, Interrupted, Unwritable,
// Unreadable, Nil); Canceled is set when a context form returned its
// context's error. Value is the item received, N a count (Len, Cap,
// Interrupt's woken, Clear's removed, TrySendMany's sent), Bool a boolean
// result, Flags the flags, Values the items Drain or TryRecvMany returned.
type MailboxOutput struct {
	Result   spec.Result
	Canceled bool
	Value    int
	N        int
	Bool     bool
	Flags    spec.Flags
	Values   []int
}

// mbState is the porcupine model's state: the reference state, plus burst,
// the number of calls woken by the last Interrupt that have not yet
// returned. Those returns take effect right after the Interrupt, so while
// burst > 0 nothing else may. States are immutable.
type mbState struct {
	ref   MailboxRef
	burst int
}

// mbKey is everything in a state but the items, in comparable form.
type mbKey struct {
	capacity, burst, items             int
	void, paused, rclosed, wclosed, up bool
}

func (s mbState) key() mbKey {
	r := s.ref
	return mbKey{r.Capacity, s.burst, len(r.Items), r.Void, r.Paused, r.ReadClosed, r.WriteClosed, r.Up}
}

func (s mbState) clone() mbState {
	s.ref.Items = slices.Clone(s.ref.Items)
	return s
}

// Mailbox returns the porcupine model of spec.Mailbox over int items, for
// a mailbox created with capacity capacity (spec.Unbounded for none).
func Mailbox(capacity int) porcupine.Model {
	return mailboxModel(mbState{ref: MailboxRef{Capacity: capacity}})
}

// VoidMailbox returns the porcupine model of the void mailbox.
func VoidMailbox() porcupine.Model {
	return mailboxModel(mbState{ref: MailboxRef{Void: true}})
}

func mailboxModel(init mbState) porcupine.Model {
	seed := maphash.MakeSeed()
	nd := &porcupine.NondeterministicModel{
		Init: func() []any { return []any{init} },
		Step: func(state, input, output any) []any {
			return mbStep(state.(mbState), input.(MailboxInput), output.(MailboxOutput))
		},
		Equal: func(a, b any) bool {
			x, y := a.(mbState), b.(mbState)
			return x.key() == y.key() && slices.Equal(x.ref.Items, y.ref.Items)
		},
		Hash: func(state any) uint64 {
			s := state.(mbState)
			var h maphash.Hash
			h.SetSeed(seed)
			maphash.WriteComparable(&h, s.key())
			for _, v := range s.ref.Items {
				maphash.WriteComparable(&h, v)
			}
			return h.Sum64()
		},
		DescribeOperation: func(input, output any) string { return DescribeMailboxOp(input, output) },
		DescribeState: func(state any) string {
			s := state.(mbState)
			d := fmt.Sprintf("%v cap %v %v", s.ref.Items, capString(s.ref.Capacity), s.ref.Flags())
			if s.burst > 0 {
				d += fmt.Sprintf(" (%d woken by interrupt, returning)", s.burst)
			}
			return d
		},
	}
	return nd.ToModel()
}

func capString(c int) string {
	if c == spec.Unbounded {
		return "∞"
	}
	return fmt.Sprint(c)
}

// mbStep returns every state the model may be in after the operation, or
// none if the operation could not have returned what it did.
func mbStep(st mbState, in MailboxInput, out MailboxOutput) []any {
	var next []any
	// An interrupted return: the call was one of those the last Interrupt
	// woke (a burst token), or it found the pending interrupt as it was
	// about to sleep (which it would only do if blocked in this state).
	interruptedReturn := func(blocked bool) {
		if st.burst > 0 {
			n := st.clone()
			n.burst--
			next = append(next, n)
		}
		if st.burst == 0 && st.ref.Up && blocked {
			n := st.clone()
			n.ref.Up = false
			next = append(next, n)
		}
	}
	// Every other operation takes effect only once the burst is over.
	normal := func(apply func(m *MailboxRef) bool) {
		if st.burst > 0 {
			return
		}
		n := st.clone()
		if apply(&n.ref) {
			next = append(next, n)
		}
	}
	canceled := func(blocked bool) { normal(func(*MailboxRef) bool { return blocked }) }

	r := &st.ref
	switch in.Op {
	case MbTrySend:
		normal(func(m *MailboxRef) bool { return m.TrySend(in.Value) == out.Result })
	case MbSend:
		switch {
		case out.Canceled:
			canceled(in.Value != 0 && r.SendBlocked())
		case out.Result == spec.Interrupted:
			interruptedReturn(in.Value != 0 && r.SendBlocked())
		default:
			// Delivered, Unwritable or Nil: the instant TrySend said so.
			normal(func(m *MailboxRef) bool { return m.TrySend(in.Value) == out.Result })
		}
	case MbTryRecv:
		normal(func(m *MailboxRef) bool {
			v, res := m.TryRecv()
			return res == out.Result && v == out.Value
		})
	case MbRecv:
		switch {
		case out.Canceled:
			canceled(r.RecvBlocked())
		case out.Result == spec.Interrupted:
			interruptedReturn(r.RecvBlocked())
		default:
			normal(func(m *MailboxRef) bool {
				v, res := m.TryRecv()
				return res == out.Result && v == out.Value
			})
		}
	case MbPause:
		normal(func(m *MailboxRef) bool { return m.Pause() == out.Bool })
	case MbResume:
		normal(func(m *MailboxRef) bool { return m.Resume() == out.Bool })
	case MbCloseWrite:
		normal(func(m *MailboxRef) bool { return m.CloseWrite() == out.Bool })
	case MbCloseRead:
		normal(func(m *MailboxRef) bool { return m.CloseRead() == out.Bool })
	case MbInterrupt:
		if out.N < 0 || out.N > max(in.N, 0) {
			return nil
		}
		normal(func(m *MailboxRef) bool {
			if out.N < in.N {
				m.Up = true
			}
			return true
		})
		for i, s := range next {
			s := s.(mbState)
			s.burst = out.N
			next[i] = s
		}
	case MbWaitPushable:
		waitCall(st, r.SendBlocked(), out.Bool, out.Bool == r.Pushable(), interruptedReturn, normal)
	case MbWaitPoppable:
		waitCall(st, r.RecvBlocked(), out.Bool, out.Bool == r.Poppable(), interruptedReturn, normal)
	case MbWaitEmpty:
		waitCall(st, r.EmptyBlocked(), true, true, interruptedReturn, normal)
	case MbWaitFull:
		waitCall(st, r.FullBlocked(), true, true, interruptedReturn, normal)
	case MbLen:
		normal(func(m *MailboxRef) bool { return m.Len() == out.N })
	case MbCap:
		normal(func(m *MailboxRef) bool { return m.Cap() == out.N })
	case MbSetCap:
		normal(func(m *MailboxRef) bool { m.SetCap(in.N); return true })
	case MbFlags:
		normal(func(m *MailboxRef) bool { return m.Flags() == out.Flags })
	case MbClear:
		// Like the batches, Clear and Drain may take the first k items
		// only, k at least one where there is one (spec.Mailbox).
		normal(func(m *MailboxRef) bool {
			all := m.Drain()
			if out.N > len(all) || out.N < min(len(all), 1) {
				return false
			}
			m.Items = slices.Clone(all[out.N:])
			return true
		})
	case MbDrain:
		normal(func(m *MailboxRef) bool {
			all, k := m.Drain(), len(out.Values)
			if k > len(all) || k < min(len(all), 1) || !slices.Equal(all[:k], out.Values) {
				return false
			}
			m.Items = slices.Clone(all[k:])
			return true
		})
	case MbTrySendMany:
		// The reference moves the most it may; a batch may move fewer, at
		// least one where one would move (spec.Mailbox).
		normal(func(m *MailboxRef) bool {
			n, res := m.TrySendMany(in.Values)
			if res != out.Result || out.N > n || out.N < min(n, 1) {
				return false
			}
			m.Items = m.Items[:len(m.Items)-(n-out.N)] // the items it did not send
			return true
		})
	case MbTryRecvMany:
		normal(func(m *MailboxRef) bool {
			vs, res := m.TryRecvMany(in.N)
			k := len(out.Values)
			if res != out.Result || k > len(vs) || k < min(len(vs), 1) || !slices.Equal(vs[:k], out.Values) {
				return false
			}
			m.Items = append(slices.Clone(vs[k:]), m.Items...) // the items it did not take
			return true
		})
	}
	return next
}

// waitCall steps a Wait call that returned ok (for the boolean ones:
// whether that is what the state says, answerOK). It returned either
// because its condition held (not blocked) and it answered as the state
// says, or as interrupted, which the boolean ones report as true.
func waitCall(st mbState, blocked, answer, answerOK bool, interruptedReturn func(bool), normal func(func(*MailboxRef) bool)) {
	if !blocked && answerOK {
		normal(func(*MailboxRef) bool { return true })
	}
	if answer {
		interruptedReturn(blocked)
	}
}

// DescribeMailboxOp renders one mailbox operation, such as "send(3) →
// Delivered" or "recv() → 3".
func DescribeMailboxOp(input, output any) string {
	in := input.(MailboxInput)
	name := mbNames[in.Op]
	var call string
	switch in.Op {
	case MbTrySend, MbSend:
		call = fmt.Sprintf("%s(%d)", name, in.Value)
	case MbInterrupt, MbSetCap:
		call = fmt.Sprintf("%s(%s)", name, capString(in.N))
	case MbTrySendMany:
		call = fmt.Sprintf("%s(%v)", name, in.Values)
	case MbTryRecvMany:
		call = fmt.Sprintf("%s(%d)", name, in.N)
	default:
		call = name + "()"
	}
	out, ok := output.(MailboxOutput)
	if !ok {
		return call
	}
	var res string
	switch {
	case out.Canceled:
		res = "canceled"
	case in.Op == MbTryRecv || in.Op == MbRecv:
		if out.Result == spec.Received {
			res = fmt.Sprint(out.Value)
		} else {
			res = out.Result.String()
		}
	case in.Op == MbTrySend || in.Op == MbSend:
		res = out.Result.String()
	case in.Op == MbLen || in.Op == MbInterrupt || in.Op == MbClear:
		res = fmt.Sprint(out.N)
	case in.Op == MbDrain:
		res = fmt.Sprint(out.Values)
	case in.Op == MbTrySendMany:
		res = fmt.Sprintf("%d %v", out.N, out.Result)
	case in.Op == MbTryRecvMany:
		if out.Result == spec.Received {
			res = fmt.Sprint(out.Values)
		} else {
			res = out.Result.String()
		}
	case in.Op == MbCap:
		res = capString(out.N)
	case in.Op == MbFlags:
		res = out.Flags.String()
	case in.Op <= MbWaitPoppable && in.Op >= MbPause:
		res = fmt.Sprint(out.Bool)
	default:
		return call
	}
	return strings.Join([]string{call, res}, " → ")
}
