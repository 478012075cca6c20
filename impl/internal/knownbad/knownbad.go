// Package knownbad holds switches that turn a fix of impl/ back off, one
// bug each, so that a test can show it catches that bug on the code that
// once had it. Only tests set them; each is read where the fix it undoes
// acts, off every path that does not end or hand over a continuation, so
// it costs an atomic load there and nothing elsewhere.
package knownbad

import "sync/atomic"

var (
	// SeqKeepsFinished makes a sequential continuation (impl/seq) keep,
	// once its body has ended, the cleanup that would stop its coroutine
	// and everything its body holds. Where the continuation is reachable
	// from what the body holds, as it is for a remote part of ComeFrom or
	// NovelThread, the two then stay reachable for good: a leak of every
	// such body.
	SeqKeepsFinished atomic.Bool

	// CallKeepsChild makes a cont.Call keep its child continuation after
	// handing it on. A sequential child parked for ever (handed back by a
	// halted pool, then dropped) then stays reachable from its own parked
	// body, through the result function it holds, and its coroutine is
	// never stopped.
	CallKeepsChild atomic.Bool

	// MailboxFlagsWithoutLock makes a mailbox's Flags read an interrupt
	// pending beside the state without the lock, as it did before the
	// controlled scheduler found the history that shows an interrupt still
	// pending after a Recv took it.
	MailboxFlagsWithoutLock atomic.Bool

	// MailboxFlagsSnapshotUnlocked makes a mailbox's Flags, with an
	// interrupt pending, read the pending bit under the lock but take its
	// snapshot of the state after letting the lock go: a Recv can take the
	// interrupt and a CloseWrite land between the two, and Flags shows
	// both (the mutation runner's survivor core.flags:read-unlocked:2).
	MailboxFlagsSnapshotUnlocked atomic.Bool

	// MailboxStaleFlagCopy lets a mailbox's control operations and
	// snapshots copy the tail word's flags to the head word without the
	// flag lock, as before the controlled scheduler found a Resume's stale
	// copy undoing a Pause that had returned.
	MailboxStaleFlagCopy atomic.Bool

	// MailboxCutShortDrops makes a blocking Send or Recv whose context
	// ends just as a waker hands it its outcome (an item received, or its
	// item delivered) return the context's error anyway: the received item
	// is lost, or the delivered one is reported not sent. A call cut short
	// owes its caller the truth: an error means nothing was taken or sent.
	MailboxCutShortDrops atomic.Bool

	// MailboxSleepsUnannounced makes a mailbox call that must sleep list
	// itself without setting its kind's bit in the wait word, so that the
	// operation that frees it never looks for a sleeper to wake: a lost
	// wake-up, the call asleep for good beside an item or room. It is the
	// planted hang that shows a test's deadline fail it in seconds, with
	// every goroutine's stack, rather than at go test's timeout.
	MailboxSleepsUnannounced atomic.Bool

	// EjectFreezesIdle makes a runtime asked for its continuation while
	// idle (its continuations all wait in its event queue) freeze itself,
	// as a hand-over does, though it hands nothing over: the Eject fails
	// with ErrNoContinuation, as it should, but has changed something (the
	// spec: "ErrNoContinuation, and it has changed nothing"), and the
	// runtime sleeps frozen while its continuation waits to be run.
	EjectFreezesIdle atomic.Bool
)
