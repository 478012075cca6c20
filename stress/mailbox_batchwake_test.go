package stress

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// mbBatchWakeRound runs one round of each half of TestMailboxBatchWakes
// with k sleepers, and returns what went wrong. Its deadline is
// stallTimeout: past it, a sleeper beside an item or room will not wake.
func mbBatchWakeRound(r *rand.Rand, k int) []string {
	var (
		mu       sync.Mutex
		problems []string
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	// waitFor waits for done, or reports what is still asleep and closes m
	// for reading to release it. A receipt waiting for an item that is
	// never written is not released by that: it is reported and left
	// behind (goleak reports it too).
	waitFor := func(m *mailbox.Mailbox[item], done <-chan struct{}, what string) bool {
		select {
		case <-done:
			return true
		case <-time.After(stallTimeout):
		}
		problem("%s: still asleep after %v, with the mailbox %v (Len %d): a lost wake-up", what, stallTimeout, m.Flags(), m.Len())
		m.CloseRead()
		select {
		case <-done:
		case <-time.After(stallTimeout):
			problem("%s: still asleep after CloseRead: a receipt waiting for an item in flight that was written without waking it", what)
		}
		return false
	}

	// Receivers: k Recv calls, one each, on an empty mailbox, then the k
	// items in 1 to 3 batches, by as many goroutines at once. Each Recv
	// must come back with one of them.
	m := mailbox.New[item](mailbox.Unbounded)
	items := make([]item, k)
	for i := range items {
		items[i] = item{producer: 0, seq: i}
	}
	got := make([]*item, k)
	var receivers, senders sync.WaitGroup
	for i := range k {
		receivers.Go(func() {
			x, err := m.Recv()
			if err != nil && !errors.Is(err, spec.ErrUnreadable) { // Unreadable: released after a lost wake-up
				problem("Recv returned %v", err)
			}
			got[i] = x
		})
	}
	jitter(r, 300) // let some or all of them fall asleep
	parts := 1 + r.IntN(min(3, k))
	for p := range parts {
		lo, hi := p*k/parts, (p+1)*k/parts
		senders.Go(func() {
			xs := make([]*item, hi-lo)
			for i := range xs {
				xs[i] = &items[lo+i]
			}
			if n, res := m.TrySendMany(xs); n != len(xs) || res != spec.Delivered {
				problem("TrySendMany of %d into an unbounded mailbox reported %d %v", len(xs), n, res)
			}
		})
	}
	senders.Wait()
	done := make(chan struct{})
	go func() { receivers.Wait(); close(done) }()
	if waitFor(m, done, fmt.Sprintf("%d receivers after batches of %d items in all", k, k)) {
		seen := map[*item]bool{}
		for _, x := range got {
			// The bug: a woken receiver handed nothing, an item not sent,
			// or one handed to two receivers.
			if x == nil || x != &items[x.seq] || seen[x] {
				problem("the %d receivers woken by the batches got %s: want each item sent, once", k, itemNames(got))
				break
			}
			seen[x] = true
		}
	}

	// Senders: a bounded mailbox filled to its capacity k, k Send calls,
	// one each, then receipts in batches of random sizes that take the k
	// items queued before them. Each Send must then get its item in.
	m = mailbox.New[item](k)
	old := make([]*item, k)
	for i := range old {
		old[i] = &item{producer: 1, seq: i}
	}
	if n, res := m.TrySendMany(old); n != k || res != spec.Delivered {
		problem("TrySendMany of %d into an empty mailbox of capacity %d reported %d %v", k, k, n, res)
		return problems
	}
	fresh := make([]item, k)
	errs := make([]error, k)
	for i := range fresh {
		fresh[i] = item{producer: 2, seq: i}
		senders.Go(func() { errs[i] = m.Send(&fresh[i]) })
	}
	jitter(r, 300)
	for taken := 0; taken < k; {
		dst := make([]*item, 1+r.IntN(k-taken))
		n, res := m.TryRecvMany(dst)
		// The bug: a batch receipt that takes anything but the oldest
		// items (what the woken senders put in comes after them).
		if res != spec.Received || n != len(dst) || !slices.Equal(dst, old[taken:taken+n]) {
			problem("TryRecvMany(%d) with %d of %d queued items taken reported %d %v %s", len(dst), taken, k, n, res, itemNames(dst[:max(0, min(n, len(dst)))]))
			m.CloseRead()
			senders.Wait()
			return problems
		}
		taken += n
	}
	done = make(chan struct{})
	go func() { senders.Wait(); close(done) }()
	if waitFor(m, done, fmt.Sprintf("%d senders after batch receipts of %d items in all", k, k)) {
		left := m.Drain()
		seen := map[*item]bool{}
		for _, x := range left {
			if x.producer == 2 && x == &fresh[x.seq] {
				seen[x] = true
			}
		}
		// The bug: a woken sender whose item never went in, or went in
		// twice, or a Send that failed.
		if len(left) != k || len(seen) != k || slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
			problem("after the %d senders returned (errors %v) the mailbox held %d items, want their %d", k, errs, len(left), k)
		}
	}
	return problems
}

// itemNames renders items as (producer,seq), nil as nil.
func itemNames(xs []*item) string {
	names := make([]string, len(xs))
	for i, x := range xs {
		names[i] = "nil"
		if x != nil {
			names[i] = fmt.Sprintf("(%d,%d)", x.producer, x.seq)
		}
	}
	return "[" + strings.Join(names, " ") + "]"
}

// Batch wake-ups, round after round: k Recv calls (1 to 6) asleep, or
// about to be, on an empty mailbox, then batches holding k items in all
// from up to three goroutines at once; and k Send calls on a full mailbox
// of capacity k, then batch receipts of the k items queued. Every call
// must return, with one item each, or its item in. Nothing else happens
// in the mailbox, so nothing else would wake a sleeper.
//
// The bug: a batch that wakes fewer sleepers than it has items or room
// for (one, as a single send or receipt does), so that the rest sleep
// beside what they wait for; a wake-up lost between a sleeper's last look
// and a batch; an item handed to two woken receivers, or a woken sender's
// item lost. In the storms above, interrupts, pauses and other sends wake
// such sleepers sooner or later and hide the bug; here nothing does, and
// a round still asleep after stallTimeout fails with the mailbox's state.
func TestMailboxBatchWakes(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	chaos.SetSeed(seed)
	r := rand.New(rand.NewPCG(seed, 3000))
	rounds := mbBatchWakeRounds * soak(t)
	begin := time.Now()
	for round := range rounds {
		k := 1 + r.IntN(mbBatchWakeMax)
		if problems := mbBatchWakeRound(r, k); len(problems) > 0 {
			t.Fatalf("seed %#x, round %d, %d sleepers:\n%s", seed, round, k, strings.Join(problems, "\n"))
		}
	}
	t.Logf("seed %#x: %d rounds in %v (chaos %v)", seed, rounds, time.Since(begin).Round(time.Millisecond), chaos.Enabled)
}
