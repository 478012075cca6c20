//go:build sched

package mailbox_test

import (
	"fmt"
	"testing"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// A send takes trySend's slow path when the mailbox looks full and the head
// word's copy of the flags is behind the tail word's (a control operation
// between its change and its copy): it takes a snapshot, which finishes
// the copy, and claims its slot with a CAS on the tail word as the
// snapshot saw it. Here a full, paused mailbox of capacity 1 is resumed
// while two senders and a receiver run, under random and PCT schedules,
// so that a sender takes the slow path with a receipt making room and the
// other sender claiming beside it. Every item must come out exactly once:
// the first, and each that TrySend reported Delivered. The bug it catches:
// a slow-path claim that stores the tail word instead of comparing and
// swapping it (the mutation runner's survivor
// Mailbox.trySend:cas-store:2): two sends claim one slot, and one item
// reported Delivered is lost, or a Pause made in between is erased. No
// free-running test reaches the slow path's claim.
func TestSlowPathClaimKeepsEveryItem(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	searchSchedules(t, 3000, true, slowPathRound)
}

// slowPathRound runs one round under chooser c and says what went wrong,
// if anything.
func slowPathRound(c seam.Chooser) string {
	m := mailbox.New[int](1)
	items := []int{0, 1, 2}
	if m.TrySend(&items[0]) != mailbox.Delivered || !m.Pause() {
		return "setting up: the first send or the pause failed"
	}
	var sent [2]mailbox.Result
	var got []*int
	if why := runTogether(c,
		func() { m.Resume() },
		func() { sent[0] = m.TrySend(&items[1]) },
		func() { sent[1] = m.TrySend(&items[2]) },
		func() {
			if v, r := m.TryRecv(); r == mailbox.Received {
				got = append(got, v)
			}
		}); why != "" {
		return why
	}
	if m.Flags()&mailbox.FlagPaused != 0 {
		return "paused after Resume returned, with no Pause after it"
	}
	got = drain(m, got)
	want := []*int{&items[0]}
	for i, r := range sent {
		if r == mailbox.Delivered {
			want = append(want, &items[i+1])
		}
	}
	for _, w := range want {
		if n := count(got, w); n != 1 {
			return fmt.Sprintf("item %d came out %d times (sends %v, items out %s)", *w, n, sent, show(got))
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d items out, %d in (sends %v, items out %s)", len(got), len(want), sent, show(got))
	}
	return ""
}

// The receipt's twin of TestSlowPathClaimKeepsEveryItem: a receipt takes
// tryRecv's slow path when the head word's copy of the flags says paused
// and the tail word no longer does (a Resume between its change and its
// copy), and claims its slot with a CAS on the head word as its snapshot
// saw it. Here a paused mailbox holding two items is resumed while two
// receivers run; each item must come out exactly once and no receipt may
// hang. The bug it catches: a slow-path claim that stores the head word
// instead of comparing and swapping it (the mutation runner's survivor
// Mailbox.tryRecv:cas-store:2): two receipts claim one slot, one takes
// the item and the other waits for ever for a send that never comes
// (the scheduler reports the deadlock), while the other item is skipped.
func TestSlowPathReceiptTakesEachItemOnce(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	searchSchedules(t, 3000, true, slowReceiptRound)
}

// slowReceiptRound runs one round of TestSlowPathReceiptTakesEachItemOnce
// under chooser c and says what went wrong, if anything.
func slowReceiptRound(c seam.Chooser) string {
	m := mailbox.New[int](2)
	items := []int{0, 1}
	if m.TrySend(&items[0]) != mailbox.Delivered || m.TrySend(&items[1]) != mailbox.Delivered || !m.Pause() {
		return "setting up: a send or the pause failed"
	}
	var got [2]*int
	if why := runTogether(c,
		func() { m.Resume() },
		func() { got[0], _ = m.TryRecv() },
		func() { got[1], _ = m.TryRecv() }); why != "" {
		return why
	}
	out := []*int{}
	for _, v := range got {
		if v != nil {
			out = append(out, v)
		}
	}
	out = drain(m, out)
	for i := range items {
		if n := count(out, &items[i]); n != 1 {
			return fmt.Sprintf("item %d came out %d times (items out %s)", i, n, show(out))
		}
	}
	return ""
}

// A snapshot that finds the head word's copy of the flags behind the tail
// word's finishes the copy under the flag lock, so that it cannot land
// stale. Here a paused mailbox with items is resumed and paused again by
// one goroutine, which then tries a receipt, while another goroutine's
// receipt takes the slow path and its snapshots: that last receipt must
// find the mailbox paused. The bug it catches: a snapshot that copies the
// flags without the lock (the mutation runner's survivor
// words.snapshot:cond-invert:3, half of knownbad.MailboxStaleFlagCopy):
// its copy of "running", read during the Resume, lands after the Pause
// (the head word back to the very value it read), and a receipt goes
// ahead in a paused mailbox.
func TestSnapshotCopyIsNotStale(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	// The window needs the snapshot stopped twice at the right points and
	// the other goroutine's receipt between its copy and its next look:
	// measured, random schedules show it about once in 2000, PCT of depth
	// 3 or 4 not in 10000. 20000 random schedules (seeds fixed, so the
	// same every run) show the stale copy five times.
	searchSchedules(t, 20000, false, staleCopyRound)
}

// staleCopyRound runs one round of TestSnapshotCopyIsNotStale under
// chooser c and says what went wrong, if anything.
func staleCopyRound(c seam.Chooser) string {
	m := mailbox.New[int](mailbox.Unbounded)
	items := []int{0, 1, 2}
	for i := range items {
		if m.TrySend(&items[i]) != mailbox.Delivered {
			return "setting up: a send failed"
		}
	}
	m.Pause()
	var last mailbox.Result
	if why := runTogether(c,
		func() {
			m.Resume()
			m.Pause()
			_, last = m.TryRecv()
		},
		func() { m.TryRecv() }); why != "" {
		return why
	}
	if last != mailbox.Paused {
		return fmt.Sprintf("a TryRecv after Resume then Pause, with no Resume after, reported %v, want Paused", last)
	}
	return ""
}

// searchSchedules runs round under n schedules of fixed seeds 0 to n-1
// (random, or with pct every odd seed under PCT of depth 3) and fails t
// with the first schedule that round says went wrong.
func searchSchedules(t *testing.T, n uint64, pct bool, round func(seam.Chooser) string) {
	t.Helper()
	for seed := range n {
		var st schedule.Strategy = schedule.Random{}
		if pct && seed%2 == 1 {
			st = schedule.PCT{Depth: 3}
		}
		if why := round(st.Explore(seed, 0).Next(nil)); why != "" {
			t.Fatalf("schedule %d under %s: %s", seed, st, why)
		}
	}
}

// runTogether runs the calls, each on a goroutine of a controlled run
// that c schedules, started in order and awaited in order, and says why
// the run failed or did not finish, if it did.
func runTogether(c seam.Chooser, calls ...func()) string {
	res, err := seam.Run(c, func() {
		done := make([]chan struct{}, len(calls))
		for i, call := range calls {
			done[i] = make(chan struct{})
			seam.Go(func() { call(); seam.Close(done[i]) })
		}
		for _, d := range done {
			seam.Await(d)
		}
	}, seam.Options{})
	if err != nil {
		return err.Error()
	}
	if res.Outcome != seam.Finished {
		return fmt.Sprintf("the round did not finish: %s", res.Failure)
	}
	return ""
}

// drain appends to got what m still holds.
func drain(m *mailbox.Mailbox[int], got []*int) []*int {
	for {
		v, r := m.TryRecv()
		if r != mailbox.Received {
			return got
		}
		got = append(got, v)
	}
}

func count(s []*int, p *int) int {
	n := 0
	for _, q := range s {
		if q == p {
			n++
		}
	}
	return n
}

func show(s []*int) string {
	var v []int
	for _, p := range s {
		v = append(v, *p)
	}
	return fmt.Sprint(v)
}
