package mailboxtest

import "fmt"

// A Bug is one deliberate fault of a known-bad mailbox. Every check of a
// mailbox must be shown to catch the bugs it claims to catch: the
// linearizability scenario (package linearize's tests, on Locked
// mailboxes), the stress suites' conservation storm and void storm, and
// the fuzz targets' sequential replay and linearizability check (on
// Broken mailboxes and BrokenVoid gates) all take their known-bad
// mailboxes from here. Each one uses its atomics and mutexes correctly,
// so the race detector has nothing to say: the bugs are in the logic,
// which is what the checks must catch.
//
// Each bug belongs to one constructor, which panics if handed another's:
// the bugs of Locked come first, then those of Broken (its batch bugs
// last), then those of BrokenVoid. Correct, no bug, goes to all three.
type Bug uint8

const (
	// Correct is no bug: the control that shows a check passes what it
	// should (for Locked, a second, independent implementation the model
	// and the harness must accept; for Broken and BrokenVoid, the real
	// mailbox passed through).
	Correct Bug = iota

	// LostWakeup (Locked) is the check-then-register window: a Recv that
	// finds nothing (the check) drops the lock, then takes it again,
	// registers as a sleeper and goes to sleep without looking again; a
	// send in between wakes nobody, for no one is registered yet, and the
	// Recv sleeps beside the item. The scenario's liveness check (Stuck)
	// must report it as a lost wake-up, with the goroutines' stacks.
	LostWakeup
	// RacyCap (Locked): TrySend checks for room, drops the lock, then
	// appends, so two senders can both fill the last place and the
	// mailbox holds more than its capacity. The linearizability check
	// must find the history Illegal.
	RacyCap
	// SplitBatch (Locked): TrySendMany sends its items one at a time,
	// dropping the lock between two, so that another send can come
	// between them. The linearizability check must find the history
	// Illegal.
	SplitBatch
	// InterruptOvercount (Locked): Interrupt reports having woken n
	// calls, however many it really woke. The linearizability check must
	// find the history Illegal: the model requires every woken call to
	// return interrupted.
	InterruptOvercount

	// Loses (Broken): every every-th send of an item (TrySend, Send,
	// SendContext) reports it delivered but sends nothing. The
	// conservation storm must report items missing.
	Loses
	// Phantom (Broken): every every-th send that delivers its item
	// reports that it did not (TrySend Full, Send ErrInterrupted). The
	// conservation storm must report an item reported not delivered, yet
	// received.
	Phantom
	// Doubles (Broken): every every-th receipt (TryRecv, Recv,
	// RecvContext) hands its item out a second time later. The
	// conservation storm must report an item received more than once.
	Doubles
	// Reorders (Broken): every every-th send of an item is held back and
	// sent after its sender's next one (the sender as Broken's sender
	// function tells it). The conservation storm must report its sender's
	// FIFO order broken.
	Reorders
	// Stalls (Broken): once, the every-th receipt of an item keeps it and
	// sleeps until CloseRead, as if it had missed its wake-up with the
	// item in hand, then drops it and reports the mailbox unreadable. The
	// conservation storm's watchdog must stop the run, report the stall
	// and the item missing, and not hang.
	Stalls
	// PausedFull (Broken): the rules' order broken: a TrySend to a paused
	// mailbox that is also full says Full, though Paused comes first. The
	// fuzz target's replay and linearizability check must both fail it.
	PausedFull
	// Copies (Broken): TryRecv hands back a copy of every every-th item:
	// the right value, the wrong pointer. Only a check that compares
	// pointers, the fuzz target's sequential replay, can tell.
	Copies
	// LIFO (Broken): TryRecv takes the newest item, not the oldest (by
	// draining the mailbox and sending back all but the newest, which is
	// right only for an open, unpaused mailbox and one client). The fuzz
	// target's replay and linearizability check must both fail it.
	LIFO
	// DrainReverses (Broken): Drain hands out its items newest first. The
	// fuzz target's replay and linearizability check must both fail it.
	DrainReverses
	// ClosesTwice (Broken): CloseWrite reports true, having closed the
	// mailbox, even when it was closed already. The fuzz target's replay
	// and linearizability check must both fail it.
	ClosesTwice
	// HidesInterrupt (Broken): Flags does not show a pending interrupt.
	// The fuzz target's replay and linearizability check must both fail
	// it.
	HidesInterrupt

	// BatchLoses (Broken): every every-th TrySendMany of two items or more
	// sends all but the last and reports the last sent too. The
	// conservation storm must report items missing.
	BatchLoses
	// BatchDrops (Broken): every every-th TryRecvMany that takes two items
	// or more hands out one fewer than it took. The conservation storm
	// must report items missing.
	BatchDrops
	// BatchReverses (Broken): every every-th TryRecvMany that takes two
	// items or more hands them out newest first. The conservation storm
	// must report FIFO order broken, and the fuzz target's replay and
	// linearizability check must both fail it.
	BatchReverses
	// BatchNilPrefix (Broken): TrySendMany sends item by item and stops at
	// a nil: the items before it go through, though Nil means nothing was
	// sent. The fuzz target's replay and linearizability check must both
	// fail it.
	BatchNilPrefix
	// BatchAllOrNothing (Broken): TrySendMany refuses, Full, a batch that
	// does not fit whole, though its prefix does. The fuzz target's
	// replay and linearizability check must both fail it.
	BatchAllOrNothing
	// BatchRecvOne (Broken): TryRecvMany takes one item, however many dst
	// has room for and are there. Under concurrency a batch may move
	// fewer items than it could, so only the fuzz target's sequential
	// replay, where a batch alone must move all it may, can tell.
	BatchRecvOne
	// BatchCopies (Broken): TryRecvMany hands back copies: the right
	// values, the wrong pointers. Only the fuzz target's sequential
	// replay, which compares pointers, can tell.
	BatchCopies

	// EarlyFalse (BrokenVoid): every every-th WaitPoppable reports the gate
	// closed for good (false), though it is not. The void storm must
	// report a false before CloseWrite.
	EarlyFalse
	// HidesPause (BrokenVoid): Flags does not show Paused. The void storm
	// must report the flags wrong while paused.
	HidesPause
	bugs
)

// The first bug of each constructor, in the order of the constants.
const (
	firstLocked = LostWakeup
	firstBroken = Loses
	firstVoid   = EarlyFalse
)

var bugNames = [bugs]string{"correct",
	"lost-wakeup", "racy-cap", "split-batch", "interrupt-overcount",
	"loses", "phantom", "doubles", "reorders", "stalls", "paused-full", "copies", "lifo",
	"drain-reverses", "closes-twice", "hides-interrupt",
	"batch-loses", "batch-drops", "batch-reverses", "batch-nil-prefix", "batch-all-or-nothing",
	"batch-recv-one", "batch-copies",
	"early-false", "hides-pause"}

func (b Bug) String() string {
	if b < bugs {
		return bugNames[b]
	}
	return fmt.Sprintf("Bug(%d)", b)
}

// mustBe panics unless b is Correct or one of the bugs from first up to,
// not including, end: the bugs of the constructor named by who.
func (b Bug) mustBe(who string, first, end Bug) {
	if b != Correct && (b < first || b >= end) {
		panic(fmt.Sprintf("mailboxtest: %s(%v): not a bug of %s", who, b, who))
	}
}
