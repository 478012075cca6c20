//go:build sched

package mailbox_test

import (
	"errors"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// Flags with an interrupt pending reads it and the state under the lock.
// Without it (knownbad.MailboxFlagsWithoutLock), PCT finds the history in
// round 138595 of seed 4: a Recv takes the pending interrupt on the
// strength of a snapshot taken before a CloseWrite, and a Flags between
// the close and the Recv's taking of it shows both, which no order
// explains. With the fix, that round and 2000 others pass. (The bug is
// rare for PCT, one round in some ten thousand, so the test replays the
// round it found; a change to the scheduler, to PCT or to the mailbox's
// switch points moves it (issue 16's recycling moved it from 10268): find it
// again with Rounds -1 and a Duration of a minute over seeds 1 to 10.)
func TestFlagsSeesInterruptTakenAtomically(t *testing.T) {
	replayFound(t, "the lock-free Flags", &knownbad.MailboxFlagsWithoutLock, 0, "138595")
}

// Flags with an interrupt pending takes its snapshot of the state under
// the lock as well, not only its read of the interrupt. With the snapshot
// taken after letting the lock go (knownbad.MailboxFlagsSnapshotUnlocked,
// the mutation runner's survivor core.flags:read-unlocked:2), PCT finds
// round 24143 of seed 4: a Recv takes the interrupt and a CloseWrite
// lands between the two reads, and Flags shows both.
func TestFlagsSnapshotsUnderTheLock(t *testing.T) {
	replayFound(t, "the snapshot after the lock", &knownbad.MailboxFlagsSnapshotUnlocked, 1, "24143")
}

// A control operation changes the tail word's flags and copies them to
// the head word under the flag lock. Without it
// (knownbad.MailboxStaleFlagCopy) PCT finds, in round 22045 of seed 4,
// a Resume whose copy lands after a Pause that had returned, clearing the
// pause for receivers: a TryRecv then answers Empty in a paused mailbox.
func TestFlagCopiesNeverLandStale(t *testing.T) {
	replayFound(t, "the stale copy", &knownbad.MailboxStaleFlagCopy, 1, "22045")
}

// replayFound replays round, of seed 4 under pct:3, of the mailbox
// scenario of capacity c with the known-bad switch bug on, where PCT found
// it: the history must be Illegal. With bug off, that round and the 2000
// first must pass.
func replayFound(t *testing.T, what string, bug *atomic.Bool, c int, round string) {
	testdeadline.Guard(t, testdeadline.Default)
	run := func(rounds int) error {
		st, _ := schedule.Parse("pct:3")
		sc := mailboxtest.Scenario("mailbox-cap"+strconv.Itoa(c), c, mailboxtest.NewMailbox)
		sc.Schedule, sc.Seed, sc.Rounds, sc.Duration, sc.ReportDir = st, 4, rounds, 0, t.TempDir()
		_, err := sc.Run()
		return err
	}
	bug.Store(true)
	t.Setenv("INSIDEOUT_ROUND", round) // that round alone: the program and its schedule
	err := run(1)
	bug.Store(false)
	var f *linearize.Failure
	if !errors.As(err, &f) || f.Verdict != linearize.Illegal {
		t.Fatalf("%s went uncaught: %v", what, err)
	}
	if err := run(1); err != nil {
		t.Fatalf("with the fix, that round: %v", err)
	}
	t.Setenv("INSIDEOUT_ROUND", "")
	if err := run(2000); err != nil {
		t.Fatalf("with the fix: %v", err)
	}
}
