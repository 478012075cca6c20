package spec

import (
	"context"
	"errors"
	"strings"
)

// The errors of blocking mailbox calls. Implementations return these very
// values (test them with errors.Is), or the context's error.
var (
	// ErrNil: Send was given nil, which is never sent.
	ErrNil = errors.New("mailbox: nil item: nil is never sent")
	// ErrUnwritable: the mailbox is closed for writing or for reading.
	ErrUnwritable = errors.New("mailbox: unwritable: closed for writing or reading")
	// ErrUnreadable: the mailbox is closed for reading, or closed for
	// writing and drained.
	ErrUnreadable = errors.New("mailbox: unreadable: closed for reading, or closed for writing and drained")
	// ErrInterrupted: the call was woken by Interrupt.
	ErrInterrupted = errors.New("mailbox: interrupted")
)

// Result is the outcome of a non-blocking mailbox operation.
type Result uint8

const (
	// Delivered: TrySend put the item in the mailbox.
	Delivered Result = iota + 1
	// Received: TryRecv took the item at the head of the mailbox.
	Received
	// Full: TrySend found no room; nothing was sent.
	Full
	// Empty: TryRecv found nothing to take, though more may come.
	Empty
	// Paused: the mailbox is paused; nothing was sent or taken.
	Paused
	// Unwritable: nothing can ever be sent to the mailbox again.
	Unwritable
	// Unreadable: nothing can ever be received from the mailbox again.
	Unreadable
	// Interrupted: a blocking call was woken by Interrupt. The Try forms
	// never return it; blocking calls report it as an error.
	Interrupted
	// Nil: TrySend was given nil, which is never sent.
	Nil
)

var resultNames = [...]string{"Result(0)", "Delivered", "Received", "Full", "Empty", "Paused", "Unwritable", "Unreadable", "Interrupted", "Nil"}

// String returns the result's name.
func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "Result(?)"
}

// Flags is the observable state of a mailbox, as reported by Flags(). Each
// flag is derived from the mailbox's state at one instant.
type Flags uint16

const (
	// FlagInterrupt: an interrupt is pending; the next blocking call that would
	// sleep returns Interrupted instead, and clears it.
	FlagInterrupt Flags = 1 << iota
	// FlagPaused: TrySend and TryRecv report Paused.
	FlagPaused
	// FlagEmpty: the mailbox holds no item.
	FlagEmpty
	// FlagFull: the mailbox holds as many items as its capacity, or more.
	FlagFull
	// FlagReadable: items may still be received: not closed for reading, and
	// not both closed for writing and empty.
	FlagReadable
	// FlagWritable: items may still be sent: closed neither for writing nor
	// for reading.
	FlagWritable
	// FlagBounded: the capacity is not Unbounded.
	FlagBounded
)

var flagNames = [...]string{"Interrupt", "Paused", "Empty", "Full", "Readable", "Writable", "Bounded"}

// String lists the flags that are on, such as "Empty|Readable|Writable".
func (f Flags) String() string {
	var parts []string
	for i, name := range flagNames {
		if f&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// Mailbox is the contract of a mailbox: a FIFO of non-nil pointers with a
// capacity, and a state that pauses, closes and interrupts it. Items move
// through a mailbox by pointer and are never copied.
//
// # State
//
// The state is the queued items (a sequence, initially empty), the
// capacity (a number, or Unbounded), and four facts: paused, closed for
// writing, closed for reading, interrupt pending; all initially false. A
// new mailbox is therefore Readable, Writable and Empty, and Full when its
// capacity is 0. Capacities are limited by what the implementation can
// count; an unbounded mailbox reports Full when it holds that many items,
// and never silently drops one.
//
// # Non-blocking operations, rule by rule in this order
//
// TrySend(v):
//   - v is nil: Nil. (Sending nil is an error, never a no-op.)
//   - paused: Paused.
//   - closed for writing, or closed for reading: Unwritable.
//   - len ≥ capacity: Full.
//   - otherwise v is appended: Delivered.
//
// TryRecv():
//   - paused: Paused.
//   - closed for reading: Unreadable.
//   - empty and closed for writing: Unreadable.
//   - empty: Empty.
//   - otherwise the first item is removed and returned: Received.
//
// TrySendMany(vs) and TryRecvMany(dst) are the batch forms, each one
// operation that takes effect at one instant:
//   - TrySendMany: if any item of vs is nil, Nil and nothing is sent;
//     otherwise TrySend's rules from "paused" on, and where TrySend would
//     deliver, the first k items of vs are appended together, in order,
//     and k returned with Delivered, for some k with
//     1 ≤ k ≤ min(len(vs), capacity − len) (k = 0 for an empty vs).
//     Nothing comes between two of them.
//   - TryRecvMany: TryRecv's rules, and where TryRecv would receive, the
//     first k items are removed together, stored in dst in order, and k
//     returned with Received, for some k with 1 ≤ k ≤ min(len(dst), len)
//     (k = 0 for an empty dst).
//
// With nothing else going on, k is the upper bound: everything that fits,
// everything there is. Under concurrency it may be less. A batch decides
// how many items it moves from both ends of the mailbox but can claim only
// its own end in the step that makes it take effect; receipts (for a
// send) or sends (for a receipt) that land while it decides make room, or
// add items, that it does not use. The bound is what a lock-free batch can
// promise: never none where one item would move, never more than fits or
// than there is, and never a batch in two pieces.
//
// Where this differs from the Nim original: it lets TrySend fill a mailbox
// closed for reading up to its capacity, after which it reports
// Unwritable. For an unbounded mailbox that means sends succeed forever
// into a mailbox nobody may read. Here closing for reading makes the
// mailbox unwritable at once: a sender learns immediately that its items
// would only pile up, and whatever was already queued stays countable and
// can be taken back with Drain.
//
// # Blocking operations
//
// Send and Recv are TrySend and TryRecv retried until the result is
// neither Full/Empty nor Paused; each takes effect at one instant at which
// its Try form would have succeeded (or reported Unwritable / Unreadable,
// which it returns as an error). While it cannot proceed it sleeps and
// costs no CPU. The context forms return the context's error instead if
// the context ends while they sleep. A nil context is not a context: it
// is a programmer error, which an implementation reports by panicking.
//
// WaitPushable reports true at an instant when TrySend would not report
// Full or Paused (it may then report Delivered, or Nil for nil), and false
// when TrySend would report Unwritable; it sleeps otherwise. WaitPoppable
// is its twin for TryRecv: true when TryRecv would take an item, false
// when it would report Unreadable. WaitEmpty returns once the mailbox is
// empty, WaitFull once it holds capacity items or more.
//
// # Interrupts
//
// Interrupt(n) wakes up to n of the calls sleeping in the mailbox at that
// instant (Send, Recv, their context forms, and the Wait calls; the
// longest-sleeping first) and returns how many it woke. Each woken call
// returns at once: Send and Recv with Interrupted, WaitPushable and
// WaitPoppable with true (look again), WaitEmpty and WaitFull without
// waiting further. If it woke fewer than n, the interrupt also becomes
// pending: the next call that would go to sleep returns as if interrupted
// instead, and clears it. At most one interrupt is pending; the Try forms
// neither report nor clear it. The pending interrupt closes the race in
// which a goroutine is interrupted just before it goes to sleep.
//
// Where this differs from the Nim original: it sets an Interrupt flag and
// wakes waiters that then simply retry, so an interrupted Send or Recv never
// learns it was interrupted. Here the woken call returns, so that a worker
// kicked out of a wait can notice why.
//
// # Control operations
//
//   - Pause() sets paused, Resume() clears it; each reports whether it
//     changed the state. While paused, both sides are held.
//   - CloseWrite() and CloseRead() set their facts and report whether the
//     call did so (false: it was already closed). Neither can be undone.
//     After CloseWrite, receivers drain what is queued and then see
//     Unreadable; after CloseRead, receivers see Unreadable at once and
//     senders Unwritable.
//   - SetCap(n) sets the capacity; a capacity below the current length
//     makes the mailbox Full until receipts bring it below.
//   - Clear() removes the first k items and returns k; Drain() removes the
//     first k items and returns them in order, so that nothing is lost.
//     Both take effect at one instant and work whether the mailbox is
//     paused or closed. k is every item there is, and the mailbox is left
//     empty, when nothing else is going on, and always once the mailbox is
//     closed (nothing can arrive); under concurrency, sends that land
//     while it decides may stay queued, as with the batch forms above:
//     1 ≤ k ≤ len where the mailbox is not empty.
//   - Len() and Cap() return the length and the capacity; Flags() returns
//     the flags of the state.
//
// Every operation is linearizable: it appears to take effect at one
// instant between its call and its return.
//
// # The void mailbox
//
// A void mailbox carries no items: its capacity is 0 and it is always
// Empty and Full. It is a state to wait on: Pause, Resume, CloseRead,
// CloseWrite, Interrupt and Flags as above; WaitPushable sleeps while
// paused, reports false once it is closed for writing or reading and true
// otherwise; WaitPoppable sleeps while paused, reports false once it is
// closed for reading or writing, and true otherwise; WaitEmpty and WaitFull
// return at once.
type Mailbox[T any] interface {
	TrySend(v *T) Result
	TrySendMany(vs []*T) (int, Result)
	Send(v *T) error
	SendContext(ctx context.Context, v *T) error
	TryRecv() (*T, Result)
	TryRecvMany(dst []*T) (int, Result)
	Recv() (*T, error)
	RecvContext(ctx context.Context) (*T, error)
	CloseWrite() bool
	CloseRead() bool
	Pause() bool
	Resume() bool
	Interrupt(n int) int
	WaitPushable() bool
	WaitPoppable() bool
	WaitEmpty()
	WaitFull()
	Len() int
	Cap() int
	SetCap(n int)
	Clear() int
	Drain() []*T
	Flags() Flags
}

// Unbounded is the capacity of a mailbox without a limit. An
// implementation treats any capacity larger than it can count as Unbounded.
const Unbounded = int(^uint(0) >> 1)
