//go:build sched

package mailbox_test

import (
	"errors"
	"testing"

	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// Flags with an interrupt pending reads it and the state under the lock.
// Without it (knownbad.MailboxFlagsWithoutLock), PCT finds the history in
// round 10268 of seed 4: a Recv takes the pending interrupt on the
// strength of a snapshot taken before a CloseWrite, and a Flags between
// the close and the Recv's taking of it shows both, which no order
// explains. With the fix, that round and 2000 others pass. (The bug is
// rare for PCT, one round in some ten thousand, so the test replays the
// round it found; a change to the scheduler or to PCT moves it: find it
// again with Rounds -1 and a Duration of a minute over seeds 1 to 10.)
func TestFlagsSeesInterruptTakenAtomically(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	run := func(rounds int) error {
		st, _ := schedule.Parse("pct:3")
		sc := mailboxtest.Scenario("mailbox-cap0", 0, mailboxtest.NewMailbox)
		sc.Schedule, sc.Seed, sc.Rounds, sc.Duration, sc.ReportDir = st, 4, rounds, 0, t.TempDir()
		_, err := sc.Run()
		return err
	}
	knownbad.MailboxFlagsWithoutLock.Store(true)
	t.Setenv("INSIDEOUT_ROUND", "10268") // that round alone: the program and its schedule
	err := run(1)
	knownbad.MailboxFlagsWithoutLock.Store(false)
	var f *linearize.Failure
	if !errors.As(err, &f) || f.Verdict != linearize.Illegal {
		t.Fatalf("the lock-free Flags went uncaught: %v", err)
	}
	if err := run(1); err != nil {
		t.Fatalf("with the fix, that round: %v", err)
	}
	t.Setenv("INSIDEOUT_ROUND", "")
	if err := run(2000); err != nil {
		t.Fatalf("with the fix: %v", err)
	}
}

// A control operation changes the tail word's flags and copies them to
// the head word under the flag lock. Without it
// (knownbad.MailboxStaleFlagCopy) PCT finds, in round 29580 of seed 4,
// a Resume whose copy lands after a Pause that had returned, clearing the
// pause for receivers: a TryRecv then answers Empty in a paused mailbox.
func TestFlagCopiesNeverLandStale(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	run := func(rounds int) error {
		st, _ := schedule.Parse("pct:3")
		sc := mailboxtest.Scenario("mailbox-cap1", 1, mailboxtest.NewMailbox)
		sc.Schedule, sc.Seed, sc.Rounds, sc.Duration, sc.ReportDir = st, 4, rounds, 0, t.TempDir()
		_, err := sc.Run()
		return err
	}
	knownbad.MailboxStaleFlagCopy.Store(true)
	t.Setenv("INSIDEOUT_ROUND", "29580") // that round alone: the program and its schedule
	err := run(1)
	knownbad.MailboxStaleFlagCopy.Store(false)
	var f *linearize.Failure
	if !errors.As(err, &f) || f.Verdict != linearize.Illegal {
		t.Fatalf("the stale copy went uncaught: %v", err)
	}
	if err := run(1); err != nil {
		t.Fatalf("with the fix, that round: %v", err)
	}
	t.Setenv("INSIDEOUT_ROUND", "")
	if err := run(2000); err != nil {
		t.Fatalf("with the fix: %v", err)
	}
}
