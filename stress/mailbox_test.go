package stress

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/spec"
)

// The mailbox suites' sizes at INSIDEOUT_SOAK=1, chosen with the queue's
// so that the whole package stays within about a minute under -race on two
// cores, with or without -tags chaos. INSIDEOUT_SOAK=n multiplies each.
const (
	// Short checked histories, per capacity (0, 1, 2 and unbounded): this
	// many rounds of 4 clients x 4 ops, and half as many each of 5 x 3
	// and 3 x 6. The mailbox model is nondeterministic (a blocking call
	// may have returned for several reasons), so porcupine's search grows
	// fast with overlapping calls; at these shapes a check took about
	// 0.1 ms on average and mostly under 2 ms at most, the odd one 10 ms,
	// under -race with or without -tags chaos (the test logs both). A
	// round costs about 1.5 ms, most of it Release's 1 ms of stillness.
	mbHistoryRounds = 1000

	// Conservation under storms: per run, 4 senders each send this many
	// numbered items to 4 receivers, while storm goroutines pause, resume,
	// interrupt, change the capacity and drain.
	mbConserveItems = 50000

	// Batch wake-ups: rounds of up to mbBatchWakeMax sleepers woken by
	// batches (about a millisecond a round).
	mbBatchWakeRounds = 300
	mbBatchWakeMax    = 6

	// The void: waiters at the gate, and how many times a round pauses
	// and resumes it.
	voidWaiters = 16
	voidRounds  = 12
	voidToggles = 150
)

// mbHistories runs campaign.MailboxScenario at capacity with clients x ops
// for rounds rounds, and logs how long the rounds took, checks included.
func mbHistories(t *testing.T, capacity, clients, ops, rounds int) {
	t.Helper()
	name := fmt.Sprintf("mailbox-cap%s-%dx%d", capString(capacity), clients, ops)
	sc := campaign.MailboxScenario(name, capacity, campaign.NewMailbox)
	sc.Clients, sc.OpsPerClient, sc.Rounds = clients, ops, rounds*soak(t)
	sc.Seed = resolveSeed(t)
	// The longest round, check included: progress is called after each.
	var (
		last     = time.Now()
		roundMax time.Duration
	)
	sum, err := sc.RunContext(context.Background(), func(linearize.Summary) {
		roundMax = max(roundMax, time.Since(last))
		last = time.Now()
	})
	t.Logf("%s: seed %#x: %d rounds, %d ops, %d histories in %v; the longest round took %v (chaos %v)",
		name, sc.Seed, sum.Rounds, sum.Ops, sum.Histories, sum.Elapsed.Round(time.Millisecond),
		roundMax.Round(time.Microsecond), chaos.Enabled)
	if err != nil {
		t.Fatal(err)
	}
}

func capString(c int) string {
	if c == spec.Unbounded {
		return "Unbounded"
	}
	return fmt.Sprint(c)
}

// Thousands of short histories of every mailbox operation at once, at
// capacities 0, 1, 2 and unbounded, each ended by campaign.MailboxRelease
// with its liveness check and checked for linearizability with its final
// Len, Flags and Drain.
//
// The bug: any interleaving in which a send, receipt, pause, close,
// interrupt, capacity change or drain breaks spec.Mailbox (an item lost,
// duplicated or reordered, a result against the rules' order, a flag
// wrong at its instant, an interrupt lost or delivered twice); a call that
// sleeps beside an item, room, or a condition that holds (a lost wake-up);
// a call that never returns; and, under -race, any unsynchronised access.
func TestMailboxLinearizable(t *testing.T) {
	for _, capacity := range []int{0, 1, 2, spec.Unbounded} {
		t.Run("cap"+capString(capacity), func(t *testing.T) {
			mbHistories(t, capacity, 4, 4, mbHistoryRounds)
			mbHistories(t, capacity, 5, 3, mbHistoryRounds/2)
			mbHistories(t, capacity, 3, 6, mbHistoryRounds/2)
		})
	}
}

// mbBox is what the conservation storm exercises: a spec.Mailbox of
// items, with impl/mailbox's All.
type mbBox interface {
	spec.Mailbox[item]
	All() iter.Seq[*item]
}

// What became of a send, as its sender saw it.
const (
	notTried  uint8 = iota // the sender never got to it (it was stopped)
	delivered              // a send reported it delivered
	refused                // every attempt reported it not delivered
)

// mbStormConfig sizes a conservation run.
type mbStormConfig struct {
	senders, receivers, perSender int
	capacity                      int  // at the start; the storm changes it
	cut                           bool // close at both ends halfway, while everyone runs; else close for writing once the senders are done
	seed                          uint64
	stall                         time.Duration // nothing sent or received for this long: stop, close, report
	finish                        time.Duration // the run still going: a hang
}

// mbProblems collects what the goroutines of a run found wrong.
type mbProblems struct {
	mu   sync.Mutex
	list []string
	more int
}

func (p *mbProblems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.list) < reportFirstMany {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	} else {
		p.more++
	}
}

// jitter sleeps up to maxMicros microseconds (perhaps not at all), to vary the
// storm's rhythm; nothing is timed.
func jitter(r *rand.Rand, maxMicros int) {
	if d := r.IntN(maxMicros + 1); d > 0 {
		time.Sleep(time.Duration(d) * time.Microsecond)
	} else {
		runtime.Gosched()
	}
}

// mbSend sends x by one of the three send calls, chosen by r, retrying
// after each failure to deliver if persistent, else giving up after the
// first. It returns delivered or refused, as the calls reported it.
func mbSend(m mbBox, r *rand.Rand, x *item, persistent bool, closing *atomic.Bool, problems *mbProblems) uint8 {
	// The bug, in each case below: a send into a mailbox that nobody has
	// closed yet reporting Unwritable, or a result that its form never
	// returns (Nil for an item, Interrupted from TrySend). closing is set
	// before the mailbox is closed, so a send that finds it unwritable
	// must see it set.
	unexpected := func(what string) uint8 {
		if !closing.Load() {
			problems.add("sender %d: %s for (%d,%d) before the mailbox was closed", x.producer, what, x.producer, x.seq)
		}
		return refused
	}
	how := r.IntN(3)
	for {
		switch how {
		case 0:
			switch res := m.TrySend(x); res {
			case spec.Delivered:
				return delivered
			case spec.Full, spec.Paused:
				runtime.Gosched()
			default:
				return unexpected("TrySend reported " + res.String())
			}
		case 1:
			switch err := m.Send(x); {
			case err == nil:
				return delivered
			case errors.Is(err, spec.ErrInterrupted):
			default:
				return unexpected(fmt.Sprintf("Send returned %v", err))
			}
		case 2:
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(300))*time.Microsecond)
			err := m.SendContext(ctx, x)
			cancel()
			switch {
			case err == nil:
				return delivered
			case errors.Is(err, spec.ErrInterrupted), errors.Is(err, context.DeadlineExceeded):
			default:
				return unexpected(fmt.Sprintf("SendContext returned %v", err))
			}
		}
		if !persistent || closing.Load() {
			return refused
		}
	}
}

// mbSendBatch sends xs, the next items of one sender, with TrySendMany:
// the unsent rest again after Full, Paused or a partial send if
// persistent, else not. It returns how many of xs it sent, which are the
// first ones: TrySendMany sends a prefix.
func mbSendBatch(m mbBox, xs []*item, persistent bool, closing *atomic.Bool, problems *mbProblems) int {
	// The bug, in each case below: a batch into a mailbox that nobody has
	// closed yet reporting Unwritable, a result TrySendMany never returns
	// for a batch without nil (Nil, Interrupted), or a count that is no
	// prefix of the batch (none or more than offered with Delivered, some
	// with a refusal).
	sent := 0
	for sent < len(xs) {
		n, res := m.TrySendMany(xs[sent:])
		switch {
		case res == spec.Delivered && n >= 1 && n <= len(xs)-sent:
			sent += n
			if sent == len(xs) {
				return sent
			}
		case (res == spec.Full || res == spec.Paused) && n == 0:
			runtime.Gosched()
		case res == spec.Unwritable && n == 0:
			if !closing.Load() {
				problems.add("sender %d: TrySendMany reported Unwritable at (%d,%d) before the mailbox was closed", xs[0].producer, xs[sent].producer, xs[sent].seq)
			}
			return sent
		default:
			problems.add("sender %d: TrySendMany of %d items from (%d,%d) reported %d %v", xs[0].producer, len(xs)-sent, xs[sent].producer, xs[sent].seq, n, res)
			return sent
		}
		if !persistent || closing.Load() {
			return sent
		}
	}
	return sent
}

// mbReceive receives with all five receive calls, chosen at random, into
// l until the mailbox reports itself unreadable.
func mbReceive(m mbBox, r *rand.Rand, c int, items [][]item, l *popLog, progress, batched *atomic.Int64, problems *mbProblems) {
	take := func(x *item) {
		// The bug: a receipt that reports success with no item.
		if x == nil {
			problems.add("receiver %d: a receipt reported success with a nil item", c)
			return
		}
		l.take(items, x)
		progress.Add(1)
	}
	// The bug: a receive call returning what its form never returns.
	unexpected := func(what string) { problems.add("receiver %d: %s", c, what) }
	for {
		if r.IntN(8) == 0 {
			jitter(r, 200) // let the senders run ahead now and then, so that items queue up
		}
		switch r.IntN(5) {
		case 4:
			dst := make([]*item, 1+r.IntN(16))
			for range 1 + r.IntN(8) {
				n, res := m.TryRecvMany(dst)
				switch {
				case res == spec.Received && n >= 1 && n <= len(dst):
					for _, x := range dst[:n] {
						take(x)
					}
					batched.Add(int64(n))
				case (res == spec.Empty || res == spec.Paused) && n == 0:
					runtime.Gosched()
				case res == spec.Unreadable && n == 0:
					return
				default:
					// The bug: a count out of range (items taken and not
					// handed over, or nils handed over), or a result
					// TryRecvMany never returns.
					unexpected(fmt.Sprintf("TryRecvMany(%d) reported %d %v", len(dst), n, res))
					return
				}
			}
		case 0:
			for range 1 + r.IntN(32) {
				x, res := m.TryRecv()
				switch res {
				case spec.Received:
					take(x)
				case spec.Empty, spec.Paused:
					runtime.Gosched()
				case spec.Unreadable:
					return
				default:
					unexpected("TryRecv reported " + res.String())
					return
				}
			}
		case 1:
			x, err := m.Recv()
			switch {
			case err == nil:
				take(x)
			case errors.Is(err, spec.ErrInterrupted):
			case errors.Is(err, spec.ErrUnreadable):
				return
			default:
				unexpected(fmt.Sprintf("Recv returned %v", err))
				return
			}
		case 2:
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(300))*time.Microsecond)
			x, err := m.RecvContext(ctx)
			cancel()
			switch {
			case err == nil:
				take(x)
			case errors.Is(err, spec.ErrInterrupted), errors.Is(err, context.DeadlineExceeded):
			case errors.Is(err, spec.ErrUnreadable):
				return
			default:
				unexpected(fmt.Sprintf("RecvContext returned %v", err))
				return
			}
		case 3:
			n, limit := 0, 1+r.IntN(32)
			for x := range m.All() {
				take(x)
				if n++; n == limit {
					break
				}
			}
			// All stopped by itself: interrupted, or unreadable for good.
			if n < limit && m.Flags()&spec.FlagReadable == 0 {
				return
			}
		}
	}
}

// mbStorm runs a conservation storm on m and checks that every item whose
// send reported it delivered came out exactly once, by a receiver, a
// storm drain or the final drain, that no item reported not delivered
// came out at all, and that each receiver saw each sender's items in
// order.
func mbStorm(m mbBox, cfg mbStormConfig) result {
	var res result
	items := makeItems(cfg.senders, cfg.perSender)
	status := make([][]uint8, cfg.senders)
	for p := range status {
		status[p] = make([]uint8, cfg.perSender)
	}
	var (
		problems                  mbProblems
		progress                  atomic.Int64 // deliveries and receipts
		stop                      atomic.Bool  // the watchdog stopped the run
		closing                   atomic.Bool  // CloseWrite is about to be called
		stormStop                 atomic.Bool
		senders, receivers, storm sync.WaitGroup
		start                     = make(chan struct{})
		logs                      = make([]*popLog, cfg.receivers+2) // then the storm's drains, then the final drain
		lastCap                   = cfg.capacity
		refusedN                  atomic.Int64
		batchSent, batchReceived  atomic.Int64 // items moved by TrySendMany and TryRecvMany
	)
	for c := range logs {
		logs[c] = newPopLog(cfg.senders, cfg.perSender)
	}
	begin := time.Now()
	for p := range cfg.senders {
		senders.Go(func() {
			r := rand.New(rand.NewPCG(cfg.seed, uint64(p)))
			<-start
			for s := 0; s < len(items[p]); {
				if stop.Load() {
					break
				}
				if r.IntN(64) == 0 {
					// The bug: nil accepted, or refused for another reason
					// than being nil (Nil comes first in the rules); or a
					// batch with a nil that sends the items before it (the
					// item then comes out twice, or though refused).
					if res := m.TrySend(nil); res != spec.Nil {
						problems.add("sender %d: TrySend(nil) reported %v, want Nil", p, res)
					}
					if err := m.Send(nil); !errors.Is(err, spec.ErrNil) {
						problems.add("sender %d: Send(nil) returned %v, want ErrNil", p, err)
					}
					if n, res := m.TrySendMany([]*item{&items[p][s], nil}); n != 0 || res != spec.Nil {
						problems.add("sender %d: TrySendMany with a nil reported %d %v, want 0 Nil", p, n, res)
					}
				}
				if r.IntN(6) == 0 {
					// A batch of the next items, of which a prefix goes.
					k := min(1+r.IntN(8), len(items[p])-s)
					xs := make([]*item, k)
					for i := range xs {
						xs[i] = &items[p][s+i]
					}
					n := mbSendBatch(m, xs, r.IntN(4) != 0, &closing, &problems)
					for i := range k {
						status[p][s+i] = refused
						if i < n {
							status[p][s+i] = delivered
						}
					}
					progress.Add(int64(n))
					batchSent.Add(int64(n))
					refusedN.Add(int64(k - n))
					s += k
					continue
				}
				status[p][s] = mbSend(m, r, &items[p][s], r.IntN(4) != 0, &closing, &problems)
				if status[p][s] == delivered {
					progress.Add(1)
				} else {
					refusedN.Add(1)
				}
				s++
			}
		})
	}
	for c := range cfg.receivers {
		receivers.Go(func() {
			r := rand.New(rand.NewPCG(cfg.seed, uint64(1000+c)))
			<-start
			mbReceive(m, r, c, items, logs[c], &progress, &batchReceived, &problems)
		})
	}
	// The storm: one goroutine for each kind of disturbance, so that each
	// knows the state it alone changes.
	storm.Go(func() {
		r := rand.New(rand.NewPCG(cfg.seed, 2000))
		<-start
		for !stormStop.Load() {
			// The bug: Pause or Resume misreporting whether they changed
			// the state (only this goroutine pauses and resumes, so each
			// call changes it), or Flags not showing a pause that holds.
			if !m.Pause() {
				problems.add("Pause reported the mailbox paused already, but only the pauser pauses it")
			}
			if f := m.Flags(); f&spec.FlagPaused == 0 {
				problems.add("Flags = %v while paused, want Paused", f)
			}
			jitter(r, 50)
			if !m.Resume() {
				problems.add("Resume reported the mailbox running already, but only the pauser pauses it")
			}
			jitter(r, 200)
		}
	})
	storm.Go(func() {
		r := rand.New(rand.NewPCG(cfg.seed, 2001))
		<-start
		for !stormStop.Load() {
			n := r.IntN(4)
			if r.IntN(16) == 0 {
				n = 1 << 10
			}
			// The bug: Interrupt claiming to have woken more calls than
			// it was allowed to, or than there are goroutines that could
			// be asleep in the mailbox.
			if woke := m.Interrupt(n); woke < 0 || woke > n || woke > cfg.senders+cfg.receivers {
				problems.add("Interrupt(%d) reported %d woken, with %d senders and %d receivers", n, woke, cfg.senders, cfg.receivers)
			}
			jitter(r, 200)
		}
	})
	storm.Go(func() {
		r := rand.New(rand.NewPCG(cfg.seed, 2002))
		caps := []int{0, 1, 2, 3, 8, 64, spec.Unbounded}
		<-start
		for !stormStop.Load() {
			c := caps[r.IntN(len(caps))]
			m.SetCap(c)
			lastCap = c
			// The bug: a capacity that does not hold, or flags that
			// disagree with it (only this goroutine sets it): Bounded
			// wrong, or a mailbox of capacity 0 that is not Full.
			if got := m.Cap(); got != c {
				problems.add("Cap = %s just after SetCap(%s), and only the capper sets it", capString(got), capString(c))
			}
			f := m.Flags()
			if (f&spec.FlagBounded != 0) != (c != spec.Unbounded) || c == 0 && f&spec.FlagFull == 0 {
				problems.add("Flags = %v at capacity %s", f, capString(c))
			}
			// The bug: a mailbox that nobody has closed reported closed.
			// (closing is read after Flags: if it is still false,
			// CloseWrite had not been called when Flags took its state.)
			if f&(spec.FlagReadable|spec.FlagWritable) != spec.FlagReadable|spec.FlagWritable && !closing.Load() {
				problems.add("Flags = %v before the mailbox was closed, want Readable and Writable", f)
			}
			jitter(r, 200)
		}
	})
	storm.Go(func() {
		r := rand.New(rand.NewPCG(cfg.seed, 2003))
		<-start
		for !stormStop.Load() {
			// Now and then take everything: the storm's drains count as
			// one more receiver. They stop at the close, leaving the rest
			// to the final drain.
			if !closing.Load() {
				for _, x := range m.Drain() {
					logs[cfg.receivers].take(items, x)
					progress.Add(1)
				}
			}
			jitter(r, 5000)
		}
	})

	// The watchdog: if nothing is sent or received for cfg.stall, an item
	// is lost or a call sleeps for good; it stops the senders and closes
	// and releases the mailbox, so that the run ends and reports what is
	// missing instead of hanging.
	watchdogDone := make(chan struct{})
	var watchdog sync.WaitGroup
	var stalled atomic.Bool
	watchdog.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		seen, since := progress.Load(), time.Now()
		for {
			select {
			case <-watchdogDone:
				return
			case <-tick.C:
			}
			if n := progress.Load(); n != seen {
				seen, since = n, time.Now()
				continue
			}
			if time.Since(since) < cfg.stall {
				continue
			}
			stalled.Store(true)
			stop.Store(true)
			closing.Store(true)
			m.Resume()
			m.CloseWrite()
			m.CloseRead()
			m.Interrupt(1 << 10)
		}
	})

	close(start)
	stopAll := func() {
		stormStop.Store(true)
		close(watchdogDone)
	}
	// The bug, for each close below: a close that reports the mailbox
	// closed already, though nothing else closed it.
	closeBoth := func() {
		closing.Store(true)
		if !m.CloseWrite() && !stalled.Load() {
			res.problemf("CloseWrite reported the mailbox closed already; nothing had closed it")
		}
		if cfg.cut && !m.CloseRead() && !stalled.Load() {
			res.problemf("CloseRead reported the mailbox closed for reading already; nothing had closed it")
		}
	}
	if cfg.cut {
		// Close at both ends halfway through, racing everything: sends
		// that report delivered must be received or come back from the
		// final Drain; the rest report Unwritable.
		half := int64(cfg.senders * cfg.perSender) // a delivery and a receipt per item: about half of them
		for progress.Load() < half && !stop.Load() {
			time.Sleep(100 * time.Microsecond)
		}
		closeBoth()
	}
	if res.hang = waitAll(&senders, cfg.finish); res.hang != "" {
		stopAll()
		return res
	}
	if !cfg.cut {
		// Close for writing while the storm still blows: the receivers
		// then take what is left, through pauses, interrupts and
		// capacity changes.
		closeBoth()
	}
	stormStop.Store(true)
	if res.hang = waitAll(&storm, cfg.finish); res.hang != "" {
		close(watchdogDone)
		return res
	}
	// The pauser always resumes before it stops.
	if m.Resume() && !stalled.Load() {
		// The bug: a Resume that lost track of the pauser's last Resume.
		res.problemf("Resume after the storm reported the mailbox paused; the pauser had resumed it")
	}
	hang := waitAll(&receivers, cfg.finish)
	close(watchdogDone)
	watchdog.Wait()
	if res.hang = hang; hang != "" {
		return res
	}
	elapsed := time.Since(begin)
	if !cfg.cut && !m.CloseRead() && !stalled.Load() {
		res.problemf("CloseRead reported the mailbox closed for reading already; nothing had closed it")
	}
	// Everything has returned. What is left must come out of Drain: after
	// CloseRead, the items are still counted and can be taken back.
	final := logs[cfg.receivers+1]
	left := m.Drain()
	for _, x := range left {
		final.take(items, x)
	}
	res.logf("seed %#x: %d senders x %d items, %d receivers, capacity %s then the storm's, %s: %v; %d refused, %d taken by storm drains, %d by the final drain; %d sent by TrySendMany, %d received by TryRecvMany (chaos %v)",
		cfg.seed, cfg.senders, cfg.perSender, cfg.receivers, capString(cfg.capacity), map[bool]string{true: "closed at both ends halfway", false: "closed for writing at the end"}[cfg.cut],
		elapsed.Round(time.Millisecond), refusedN.Load(), len(logs[cfg.receivers].got), len(left), batchSent.Load(), batchReceived.Load(), chaos.Enabled)
	for c := range cfg.receivers {
		res.logf("receiver %d took %d", c, len(logs[c].got))
	}
	if stalled.Load() {
		res.problemf("nothing sent or received for %v: the run was stopped, and the mailbox closed and drained", cfg.stall)
	}
	if !cfg.cut && len(left) > 0 {
		// The bug: receivers told Unreadable while items were still
		// queued (closed for writing only: they must drain it first).
		res.problemf("the receivers stopped with %d items still queued; after CloseWrite alone they must take them all", len(left))
	}
	// The bug: a quiescent, drained, closed mailbox in the wrong state:
	// items still counted, a flag that outlived its cause, or a closed
	// mailbox that accepts or hands out items.
	if n := m.Len(); n != 0 {
		res.problemf("Len = %d after the final Drain, want 0", n)
	}
	want := spec.FlagEmpty
	if lastCap != spec.Unbounded {
		want |= spec.FlagBounded
	}
	if lastCap == 0 {
		want |= spec.FlagFull
	}
	if f := m.Flags() &^ spec.FlagInterrupt; f != want && !stalled.Load() {
		res.problemf("Flags = %v at the end (capacity %s), want %v (and perhaps Interrupt)", f, capString(lastCap), want)
	}
	if x, r := m.TryRecv(); r != spec.Unreadable || x != nil {
		res.problemf("TryRecv on the closed, drained mailbox reported %v, want Unreadable", r)
	}
	if r := m.TrySend(&item{producer: -1}); r != spec.Unwritable {
		res.problemf("TrySend on the closed mailbox reported %v, want Unwritable", r)
	}
	if msg := mbAccount(items, status, logs, cfg.receivers); msg != "" {
		res.problemf("conservation broken (seed %#x; receivers 0..%d, %d is the storm's drains, %d the final drain):\n%s",
			cfg.seed, cfg.receivers-1, cfg.receivers, cfg.receivers+1, msg)
	}
	problems.mu.Lock()
	res.problems = append(res.problems, problems.list...)
	if problems.more > 0 {
		res.problemf("and %d more problems like those", problems.more)
	}
	problems.mu.Unlock()
	return res
}

// mbAccount checks every item against what its send reported: one that a
// send reported delivered must be in exactly one log, one that was
// refused in none. The last log is the final drain, which must hold only
// items that come after every item of the same sender taken before it.
func mbAccount(items [][]item, status [][]uint8, logs []*popLog, receivers int) string {
	var b strings.Builder
	for c, l := range logs {
		for _, e := range l.errors {
			fmt.Fprintf(&b, "log %d: %s\n", c, e)
		}
	}
	count := make([][]int, len(items))
	before := make([]int, len(items)) // per sender, the highest seq taken before the final drain
	for p := range count {
		count[p] = make([]int, len(items[p]))
		before[p] = -1
	}
	final := logs[len(logs)-1]
	for _, l := range logs {
		for _, x := range l.got {
			count[x.producer][x.seq]++
			if l != final {
				before[x.producer] = max(before[x.producer], x.seq)
			}
		}
	}
	var kinds [4][]string
	var counts [4]int
	note := func(k int, s string) {
		counts[k]++
		if len(kinds[k]) < reportFirstMany {
			kinds[k] = append(kinds[k], s)
		}
	}
	for p := range count {
		for s, n := range count[p] {
			switch {
			case status[p][s] == delivered && n == 0:
				// The bug: an item lost: delivered, and never received
				// nor drained.
				note(0, fmt.Sprintf("(%d,%d)", p, s))
			case n > 1:
				// The bug: an item received twice.
				note(1, fmt.Sprintf("(%d,%d)x%d", p, s, n))
			case status[p][s] == refused && n > 0:
				// The bug: a send that took effect though it reported
				// that it did not (Interrupted, canceled, Full, Paused).
				note(2, fmt.Sprintf("(%d,%d)", p, s))
			case status[p][s] == notTried && n > 0:
				note(2, fmt.Sprintf("(%d,%d) never sent", p, s))
			}
		}
	}
	// The bug: FIFO broken across receivers: the final drain hands back
	// an item older than one of the same sender already received.
	for _, x := range final.got {
		if x.seq <= before[x.producer] {
			note(3, fmt.Sprintf("(%d,%d) after (%d,%d)", x.producer, x.seq, x.producer, before[x.producer]))
		}
	}
	for k, what := range []string{
		"items missing (delivered, never received), (sender,seq)",
		"items received more than once",
		"items reported not delivered, yet received",
		"items left for the final drain though a later item of the same sender was already received: FIFO order broken",
	} {
		if counts[k] > 0 {
			fmt.Fprintf(&b, "%d %s: %s\n", counts[k], what, strings.Join(kinds[k], " "))
		}
	}
	return b.String()
}

// Conservation under storms: 4 senders each send a numbered sequence with
// Send, TrySend, SendContext and, one time in six, TrySendMany of the
// next 1 to 8 items (retrying, or giving up, after an interrupt, a
// timeout, Full, Paused or a partial batch), 4 receivers take them with
// Recv, TryRecv, RecvContext, All and TryRecvMany into buffers of 1 to 16,
// while storm goroutines pause and resume,
// interrupt, set the capacity (0 and unbounded included) and drain; then
// the mailbox is closed for writing in the storm, and either drained by
// the receivers or cut off by CloseRead and drained.
//
// The bug: an item lost or received twice under contention, pauses,
// interrupts and capacity changes; a send that reports failure yet
// delivers; a batch whose count is not what it sent or received (a
// partial batch that sends other items than its prefix, or more or fewer
// than it reports; a batch receipt that takes items it does not hand
// over); a sleeper that a batch should have woken left asleep (the
// watchdog); per-sender order broken; Drain losing what CloseRead left;
// and the flags, capacity and close results that the storm checks on the
// way. A lost item or a call that sleeps for good does not hang the test:
// the watchdog stops the run after stallTimeout and names what is missing.
func TestMailboxConservation(t *testing.T) {
	seed := resolveSeed(t)
	chaos.SetSeed(seed)
	n := soak(t)
	for i, run := range []struct {
		capacity int
		cut      bool
	}{{0, false}, {1, true}, {2, false}, {spec.Unbounded, true}} {
		t.Run(fmt.Sprintf("cap%s-cut%v", capString(run.capacity), run.cut), func(t *testing.T) {
			res := mbStorm(mailbox.New[item](run.capacity), mbStormConfig{
				senders: 4, receivers: 4, perSender: mbConserveItems * n,
				capacity: run.capacity, cut: run.cut, seed: seed + uint64(i),
				stall: stallTimeout, finish: finishTimeout * time.Duration(n),
			})
			res.report(t)
		})
	}
}

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

// voidBox is the void mailbox's interface.
type voidBox interface {
	WaitPushable() bool
	WaitPoppable() bool
	WaitEmpty()
	WaitFull()
	Pause() bool
	Resume() bool
	CloseWrite() bool
	Interrupt(n int) int
	Flags() spec.Flags
}

// voidConfig sizes a void storm.
type voidConfig struct {
	waiters, toggles int
	pausedAtClose    bool // close while paused, then resume
	seed             uint64
	finish           time.Duration
}

// voidFlags are the flags a void mailbox always has.
const voidFlags = spec.FlagEmpty | spec.FlagFull | spec.FlagBounded

// voidStorm runs waiters that wait at v's gate over and over while a
// controller pauses, resumes and interrupts it, then closes it for
// writing; every waiter must come back with false, and only after the
// close.
func voidStorm(v voidBox, cfg voidConfig) result {
	var res result
	var (
		problems    mbProblems
		closeCalled atomic.Bool // set just before CloseWrite
		resumed     atomic.Bool // set just before the Resume after a paused close
		waiters     sync.WaitGroup
		trues       atomic.Int64
		start       = make(chan struct{})
	)
	begin := time.Now()
	for w := range cfg.waiters {
		waiters.Go(func() {
			r := rand.New(rand.NewPCG(cfg.seed, uint64(w)))
			<-start
			for {
				var ok bool
				switch k := r.IntN(8); {
				case k < 3:
					ok = v.WaitPoppable()
				case k < 6:
					ok = v.WaitPushable()
				case k == 6:
					v.WaitEmpty() // always at once; a hang here is caught by the finish limit
					continue
				default:
					v.WaitFull()
					continue
				}
				if ok {
					trues.Add(1)
					jitter(r, 20)
					continue
				}
				// The bug: a waiter told the gate is closed before anyone
				// closed it, or while it was still paused (a Wait sleeps
				// while paused, closed or not).
				if !closeCalled.Load() {
					problems.add("waiter %d: a Wait reported false before CloseWrite", w)
				} else if cfg.pausedAtClose && !resumed.Load() {
					problems.add("waiter %d: a Wait reported false while the closed mailbox was still paused", w)
				}
				// The bug: false, yet the flags still say open (closing
				// cannot be undone).
				if f := v.Flags(); f&(spec.FlagReadable|spec.FlagWritable) != 0 {
					problems.add("waiter %d: a Wait reported false, then Flags = %v", w, f)
				}
				return
			}
		})
	}
	r := rand.New(rand.NewPCG(cfg.seed, 1000))
	close(start)
	check := func(when string, want spec.Flags) {
		// The bug: flags that do not show the state the controller alone
		// sets (paused or not, open or closed), or that lose the void's
		// fixed Empty, Full and Bounded.
		if f := v.Flags() &^ spec.FlagInterrupt; f != want {
			problems.add("Flags = %v %s, want %v", f, when, want)
		}
	}
	open := voidFlags | spec.FlagReadable | spec.FlagWritable
	for range cfg.toggles {
		// The bug: Pause or Resume misreporting a change that only this
		// goroutine makes.
		if !v.Pause() {
			problems.add("Pause reported the gate paused already; only the controller pauses it")
		}
		check("while paused", open|spec.FlagPaused)
		jitter(r, 300)
		if r.IntN(3) == 0 {
			n := r.IntN(cfg.waiters + 3)
			// The bug: more woken than allowed, or than there are waiters.
			if woke := v.Interrupt(n); woke < 0 || woke > n || woke > cfg.waiters {
				problems.add("Interrupt(%d) reported %d woken, with %d waiters", n, woke, cfg.waiters)
			}
		}
		if !v.Resume() {
			problems.add("Resume reported the gate running already; only the controller pauses it")
		}
		check("while running", open)
		jitter(r, 30)
	}
	if cfg.pausedAtClose && !v.Pause() {
		problems.add("Pause reported the gate paused already; only the controller pauses it")
	}
	closeCalled.Store(true)
	if !v.CloseWrite() {
		problems.add("CloseWrite reported the gate closed already; nothing had closed it")
	}
	if cfg.pausedAtClose {
		check("closed while paused", voidFlags|spec.FlagPaused)
		jitter(r, 300)
		resumed.Store(true)
		if !v.Resume() {
			problems.add("Resume reported the gate running; it was paused")
		}
	}
	if res.hang = waitAll(&waiters, cfg.finish); res.hang != "" {
		return res
	}
	check("at the end", voidFlags)
	res.logf("seed %#x: %d waiters, %d pauses, closed while %s: %v, %d Waits answered true (chaos %v)",
		cfg.seed, cfg.waiters, cfg.toggles, map[bool]string{true: "paused", false: "running"}[cfg.pausedAtClose],
		time.Since(begin).Round(time.Millisecond), trues.Load(), chaos.Enabled)
	res.problems = append(res.problems, problems.list...)
	if problems.more > 0 {
		res.problemf("and %d more problems like those", problems.more)
	}
	return res
}

// A void mailbox as a gate: 16 goroutines wait at it with WaitPoppable and
// WaitPushable (and the always-immediate WaitEmpty and WaitFull) over and
// over, while the controller pauses, resumes and interrupts it; then it is
// closed for writing, while running or while paused, and every waiter
// must return false.
//
// The bug: a waiter that sleeps through a Resume or a close (a lost
// wake-up: the round hangs and the stacks are reported), a Wait that
// reports the gate closed too early or while it is paused, an Interrupt
// that claims too many, flags inconsistent with the state.
func TestVoidStorm(t *testing.T) {
	seed := resolveSeed(t)
	chaos.SetSeed(seed)
	n := soak(t)
	for round := range voidRounds * n {
		res := voidStorm(mailbox.NewVoid(), voidConfig{
			waiters: voidWaiters, toggles: voidToggles, pausedAtClose: round%2 == 1,
			seed: seed + uint64(round), finish: finishTimeout,
		})
		if round < 2 || res.hang != "" || len(res.problems) > 0 {
			res.report(t)
		}
		if t.Failed() {
			return
		}
	}
}

// brokenBatchMailbox wraps the real mailbox and breaks one promise of the
// batch forms, every every-th batch (stress/selfcheck_test.go does the
// same for the other operations, whose wrappers leave the batch forms
// real).
type brokenBatchMailbox struct {
	*mailbox.Mailbox[item]
	every int64
	bug   string
	n     atomic.Int64
}

func (b *brokenBatchMailbox) strike() bool { return b.n.Add(1)%b.every == 0 }

func (b *brokenBatchMailbox) TrySendMany(vs []*item) (int, spec.Result) {
	if b.bug == "send-lose" && len(vs) >= 2 && b.strike() {
		// Sends all but the last item, and reports the last sent too.
		if n, r := b.Mailbox.TrySendMany(vs[:len(vs)-1]); r != spec.Delivered || n < len(vs)-1 {
			return n, r
		}
		return len(vs), spec.Delivered
	}
	return b.Mailbox.TrySendMany(vs)
}

func (b *brokenBatchMailbox) TryRecvMany(dst []*item) (int, spec.Result) {
	n, r := b.Mailbox.TryRecvMany(dst)
	switch {
	case b.bug == "recv-drop" && n >= 2 && b.strike():
		return n - 1, r // takes n items and hands out n-1
	case b.bug == "recv-reverse" && n >= 2 && b.strike():
		slices.Reverse(dst[:n])
	}
	return n, r
}

// The batch accounting of the conservation storm must be able to fail: a
// batch send that reports an item sent that it dropped, a batch receipt
// that takes an item and does not hand it over, or hands its items over
// reversed, must each be caught and named.
//
// The bug: a storm that counts a batch as delivered without checking its
// items come out, that trusts TryRecvMany's count without checking every
// item sent turns up, or that does not check the order of the items a
// batch receipt hands over.
func TestConservationCatchesBrokenBatches(t *testing.T) {
	for _, c := range []struct {
		bug  string
		want string // a phrase the problems must contain
	}{
		{"send-lose", "items missing"},
		{"recv-drop", "items missing"},
		{"recv-reverse", "FIFO order broken"},
	} {
		for _, capacity := range []int{2, spec.Unbounded} {
			t.Run(fmt.Sprintf("%s-cap%s", c.bug, capString(capacity)), func(t *testing.T) {
				b := &brokenBatchMailbox{Mailbox: mailbox.New[item](capacity), every: 7, bug: c.bug}
				res := mbStorm(b, mbStormConfig{
					senders: 4, receivers: 4, perSender: 3000, capacity: capacity, seed: 1,
					stall: 2 * time.Second, finish: time.Minute,
				})
				requireCaught(t, res, c.want)
			})
		}
	}
}
