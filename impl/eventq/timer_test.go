package eventq_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// window bounds a timer's deadline: the queue reads its clock inside the
// After call that arms the timer, so the deadline is d after some moment
// between the call's start and its return.
type window struct{ lo, hi time.Time }

// armAfter arms a one-shot timer d from now for a fresh continuation and
// returns its id and the window of its deadline.
func armAfter(t *testing.T, q *eventq.Queue, d time.Duration) (eventq.ID, window) {
	t.Helper()
	before := time.Now()
	id, err := q.After(d, idle())
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	return id, window{before.Add(d), after.Add(d)}
}

// orderChecker checks firings against the timers' deadline windows: each
// must come once, no sooner than its deadline, and none may come after a
// timer whose deadline is surely later (in a later Wait, or later in the
// same Wait's batch, which the queue hands out earliest first; timers
// whose windows overlap may come in either order).
type orderChecker struct {
	t       *testing.T
	armed   map[eventq.ID]window
	fired   map[eventq.ID]bool
	order   []eventq.ID
	prev    window
	batches int
}

func newOrderChecker(t *testing.T) *orderChecker {
	return &orderChecker{t: t, armed: map[eventq.ID]window{}, fired: map[eventq.ID]bool{}}
}

// batch checks the firings of one Wait, which returned at now.
func (o *orderChecker) batch(got []eventq.Ready, now time.Time) {
	o.t.Helper()
	if len(got) > 0 {
		o.batches++
	}
	for _, rd := range got {
		w, ok := o.armed[rd.ID]
		switch {
		case !ok:
			o.t.Fatalf("fired %d, not a timer armed (or a cancelled one)", rd.ID)
		case o.fired[rd.ID]:
			o.t.Fatalf("timer %d fired twice", rd.ID)
		case !rd.Ended || rd.Count != 1:
			o.t.Fatalf("one-shot timer fired %+v, want Ended, Count 1", rd)
		case now.Before(w.lo):
			o.t.Fatalf("timer %d handed out %v before its deadline", rd.ID, w.lo.Sub(now))
		case len(o.order) > 0 && w.hi.Before(o.prev.lo):
			o.t.Fatalf("timer %d (deadline by %v) fired after timer %d (deadline from %v): out of deadline order",
				rd.ID, w.hi.Format(time.StampMicro), o.order[len(o.order)-1], o.prev.lo.Format(time.StampMicro))
		}
		o.fired[rd.ID] = true
		o.order = append(o.order, rd.ID)
		o.prev = w
	}
}

// Catches: timers handed out out of deadline order (a heap ordered by
// arming order or id, or one whose sifting is wrong), before their
// deadline, twice, or never. 200 one-shot timers are armed in shuffled
// order with the deadlines 0, 0.1, ..., 19.9 ms; the firings must come in
// non-decreasing deadline order, across Waits and within each Wait's batch
// (ties, deadlines too close to tell apart, in either order).
func TestTimersFireInDeadlineOrder(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	const n = 200
	const spread = 20 * time.Millisecond
	o := newOrderChecker(t)
	for _, i := range rand.New(rand.NewPCG(3, 4)).Perm(n) {
		id, w := armAfter(t, q, time.Duration(i)*spread/n)
		o.armed[id] = w
	}
	deadline := time.Now().Add(patience)
	for len(o.order) < n {
		got, err := q.Wait(nil, time.Until(deadline))
		if err != nil {
			t.Fatal(err)
		}
		o.batch(got, time.Now())
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d timers fired after %v", len(o.order), n, patience)
		}
	}
	if q.Len() != 0 {
		t.Fatalf("Len %d after every one-shot fired", q.Len())
	}
	t.Logf("%d timers in %d Waits", n, o.batches)
}

// Catches: a cancelled timer in the middle of the heap that fires anyway
// (or whose removal breaks the heap: the others then fire out of order,
// or never), Cancel results that disagree with the registration, and a
// Len that counts cancelled timers. 100 timers with shuffled deadlines
// 1..20 ms; 50 chosen at random are cancelled, most of them neither the
// earliest nor the last in the heap.
func TestTimerCancelInHeap(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	const n = 100
	const spread = 19 * time.Millisecond
	rng := rand.New(rand.NewPCG(5, 6))
	o := newOrderChecker(t)
	var ids []eventq.ID
	for _, i := range rng.Perm(n) {
		id, w := armAfter(t, q, time.Millisecond+time.Duration(i)*spread/n)
		o.armed[id] = w
		ids = append(ids, id)
	}
	last := time.Now().Add(time.Millisecond + spread)
	var cancelled []eventq.ID
	for _, k := range rng.Perm(n)[:n/2] {
		id := ids[k]
		if !q.Cancel(id) {
			t.Fatalf("Cancel of armed timer %d reported false", id)
		}
		if q.Cancel(id) {
			t.Fatalf("second Cancel of timer %d reported true", id)
		}
		delete(o.armed, id) // its firing is now a failure
		cancelled = append(cancelled, id)
	}
	if q.Len() != n/2 {
		t.Fatalf("Len %d after cancelling %d of %d", q.Len(), n/2, n)
	}
	// Wait until well past the last deadline, so that a cancelled timer
	// that fires late is seen.
	for end := last.Add(10 * time.Millisecond); time.Now().Before(end); {
		got, err := q.Wait(nil, time.Until(end))
		if err != nil {
			t.Fatal(err)
		}
		o.batch(got, time.Now())
	}
	if len(o.order) != n/2 || q.Len() != 0 {
		t.Fatalf("%d of the %d timers left fired, Len %d", len(o.order), n/2, q.Len())
	}
	for _, id := range cancelled {
		if q.Cancel(id) {
			t.Fatalf("Cancel of cancelled timer %d reported true", id)
		}
	}
}

// Catches: a periodic timer that drifts (its next deadline reckoned from
// when it fired or was handed back, not from its schedule: expirations
// are lost, the Counts fall behind the clock), one that fires twice for
// one expiry or before its time (the Counts run ahead of the clock), and
// one that loses the expirations that came while it was lent. An Every
// of 5 ms is handed back at once, or after holding it 6 or 12 ms; after
// each firing, the total of Counts so far must be exactly the expirations
// due by then, within the window the clock readings allow.
func TestEveryKeepsSchedule(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	const d = 5 * time.Millisecond
	c := idle()
	start0 := time.Now()
	id, err := q.Every(d, c)
	start1 := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	var counts []uint64
	for i := range 12 {
		w := time.Now() // every expiry by now is counted by the next firing
		got, err := q.Wait(nil, patience)
		now := time.Now()
		if err != nil || len(got) != 1 || got[0].ID != id || got[0].C != c || got[0].Ended || got[0].Count < 1 {
			t.Fatalf("firing %d: %+v %v", i, got, err)
		}
		total += got[0].Count
		counts = append(counts, got[0].Count)
		// The k-th expiry is at s+k*d, s between start0 and start1.
		if most := uint64(now.Sub(start0) / d); total > most {
			t.Fatalf("after %v, %d expirations counted (%v), at most %d due: fired twice or early",
				now.Sub(start0), total, counts, most)
		}
		if least := uint64(max(w.Sub(start1), 0) / d); total < least {
			t.Fatalf("after %v, %d expirations counted (%v), at least %d due: drifted or lost some",
				w.Sub(start1), total, counts, least)
		}
		time.Sleep(time.Duration(i%3) * 6 * time.Millisecond) // lent meanwhile
		if err := q.Rearm(id); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("Counts %v", counts)
	if !q.Cancel(id) {
		t.Fatal("Cancel of a periodic timer reported false")
	}
	none(t, q, 3*d, "a cancelled periodic timer fired")
}

// Catches: a timer that needs an fd of its own (10,000 would then open
// 10,000 fds, half the fd limit here), Len or Cancel wrong with many
// timers, and Close handing back many timers out of registration order or
// leaving the timerfd open.
func TestManyTimersNoFD(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	fdCount(t) // the first read may open the runtime's poller fds
	before := fdCount(t)
	q, err := eventq.New()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	base := fdCount(t)
	const n = 10_000
	rng := rand.New(rand.NewPCG(7, 8))
	conts := make([]*cont.C, n)
	ids := make([]eventq.ID, n)
	for i := range n {
		conts[i] = idle()
		d := time.Hour + time.Duration(rng.Int64N(int64(time.Hour)))
		if i%2 == 0 {
			ids[i], err = q.After(d, conts[i])
		} else {
			ids[i], err = q.Every(d, conts[i])
		}
		if err != nil {
			t.Fatalf("timer %d: %v", i, err)
		}
	}
	if got := fdCount(t); got > base+2 {
		t.Fatalf("%d fds open after New, %d with %d timers armed: an fd per timer", base, got, n)
	}
	if q.Len() != n {
		t.Fatalf("Len %d, want %d", q.Len(), n)
	}
	var want []*cont.C
	for i := range n {
		if i%3 == 0 {
			if !q.Cancel(ids[i]) {
				t.Fatalf("Cancel of timer %d reported false", i)
			}
		} else {
			want = append(want, conts[i])
		}
	}
	if q.Len() != len(want) {
		t.Fatalf("Len %d after cancelling, want %d", q.Len(), len(want))
	}
	held, err := q.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(held, want) {
		t.Fatalf("Close handed back %d continuations, want the %d armed ones in registration order", len(held), len(want))
	}
	if after := fdCount(t); after != before {
		t.Fatalf("%d fds open before New, %d after Close", before, after)
	}
}

// Catches: the timerfd not set again when its earliest deadline changes
// (a blocked Wait then sleeps until a later deadline, or for ever), or set
// wrongly when a timer is cancelled, re-armed, or the heap empties.
func TestTimerfdFollowsEarliest(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	t.Run("EarlierWakesBlockedWait", func(t *testing.T) {
		q := newQueue(t)
		if _, err := q.After(time.Hour, idle()); err != nil {
			t.Fatal(err)
		}
		c := idle()
		ids := make(chan eventq.ID, 1)
		go func() {
			time.Sleep(5 * time.Millisecond) // the Wait below is blocked by then
			id, err := q.After(time.Millisecond, c)
			if err != nil {
				t.Error(err)
			}
			ids <- id
		}()
		start := time.Now()
		got, err := q.Wait(nil, patience)
		if took := time.Since(start); err != nil || len(got) != 1 || got[0].C != c || took > time.Second {
			t.Fatalf("Wait after %v: %+v %v, want the 1 ms timer armed meanwhile, well before %v", took, got, err, patience)
		}
		if id := <-ids; got[0].ID != id {
			t.Fatalf("fired %d, want %d", got[0].ID, id)
		}
	})
	t.Run("CancelEarliest", func(t *testing.T) {
		// The timerfd stays set for the cancelled timer's deadline: its
		// expiry must set it again for the next.
		q := newQueue(t)
		idA, err := q.After(3*time.Millisecond, idle())
		if err != nil {
			t.Fatal(err)
		}
		idB, wB := armAfter(t, q, 15*time.Millisecond)
		if !q.Cancel(idA) {
			t.Fatal("Cancel reported false")
		}
		got := waitN(t, q, 1)
		if len(got) != 1 || got[0].ID != idB {
			t.Fatalf("fired %+v, want timer %d alone", got, idB)
		}
		if now := time.Now(); now.Before(wB.lo) {
			t.Fatalf("timer fired %v early", wB.lo.Sub(now))
		}
	})
	t.Run("EmptiedThenArmed", func(t *testing.T) {
		q := newQueue(t)
		id, err := q.After(time.Hour, idle())
		if err != nil {
			t.Fatal(err)
		}
		q.Cancel(id) // the heap empties: the timerfd is disarmed
		c := idle()
		id, err = q.After(time.Millisecond, c)
		if err != nil {
			t.Fatal(err)
		}
		one(t, q, id, c)
	})
	t.Run("RearmWakesBlockedWait", func(t *testing.T) {
		// Handed back after several periods, with a Wait blocked on an
		// empty heap: it is due at once, with the missed expirations.
		q := newQueue(t)
		c := idle()
		id, err := q.Every(2*time.Millisecond, c)
		if err != nil {
			t.Fatal(err)
		}
		one(t, q, id, c)
		type result struct {
			got []eventq.Ready
			err error
		}
		res := make(chan result, 1)
		go func() {
			got, err := q.Wait(nil, patience)
			res <- result{got, err}
		}()
		time.Sleep(10 * time.Millisecond)
		if err := q.Rearm(id); err != nil {
			t.Fatal(err)
		}
		rearmed := time.Now()
		r := <-res
		if took := time.Since(rearmed); r.err != nil || len(r.got) != 1 || r.got[0].ID != id || r.got[0].Count < 4 || took > time.Second {
			t.Fatalf("Wait returned %v after Rearm: %+v %v, want timer %d at once, with Count >= 4", took, r.got, r.err, id)
		}
	})
}
