package mailbox

import "github.com/insideout-go/insideout/spec"

// The errors of blocking calls (Send, Recv and their Context forms), the
// same values as spec's: test them with errors.Is.
var (
	// ErrNil: Send was given nil, which is never sent.
	ErrNil = spec.ErrNil
	// ErrUnwritable: the mailbox is closed for writing or for reading.
	ErrUnwritable = spec.ErrUnwritable
	// ErrUnreadable: the mailbox is closed for reading, or closed for
	// writing and drained.
	ErrUnreadable = spec.ErrUnreadable
	// ErrInterrupted: the call was woken by Interrupt.
	ErrInterrupted = spec.ErrInterrupted
)

// Result is the outcome of a call that does not wait: TrySend, TryRecv,
// TrySendMany, TryRecvMany.
type Result = spec.Result

// The results of the calls that do not wait.
const (
	// Delivered: TrySend put the item in the mailbox.
	Delivered = spec.Delivered
	// Received: TryRecv took the item at the head of the mailbox.
	Received = spec.Received
	// Full: TrySend found no room; nothing was sent.
	Full = spec.Full
	// Empty: TryRecv found nothing to take, though more may come.
	Empty = spec.Empty
	// Paused: the mailbox is paused; nothing was sent or taken.
	Paused = spec.Paused
	// Unwritable: nothing can ever be sent to the mailbox again.
	Unwritable = spec.Unwritable
	// Unreadable: nothing can ever be received from the mailbox again.
	Unreadable = spec.Unreadable
	// Nil: TrySend was given nil, which is never sent.
	Nil = spec.Nil
)

// Flags is the state of a mailbox at one instant, as Flags reports it.
type Flags = spec.Flags

// The flags.
const (
	// FlagInterrupt: an interrupt is pending; the next call that would
	// sleep returns ErrInterrupted instead, and clears it.
	FlagInterrupt = spec.FlagInterrupt
	// FlagPaused: TrySend and TryRecv report Paused.
	FlagPaused = spec.FlagPaused
	// FlagEmpty: the mailbox holds no item.
	FlagEmpty = spec.FlagEmpty
	// FlagFull: the mailbox holds as many items as its capacity, or more.
	FlagFull = spec.FlagFull
	// FlagReadable: items may still be received: not closed for reading,
	// and not both closed for writing and empty.
	FlagReadable = spec.FlagReadable
	// FlagWritable: items may still be sent: closed neither for writing
	// nor for reading.
	FlagWritable = spec.FlagWritable
	// FlagBounded: the capacity is not Unbounded.
	FlagBounded = spec.FlagBounded
)
