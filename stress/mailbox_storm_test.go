package stress

import (
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

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

// mbStorm runs a conservation storm on m and checks that every item whose
// send reported it delivered came out exactly once, by a receiver, a
// storm drain or the final drain, that no item reported not delivered
// came out at all, and that each receiver saw each sender's items in
// order.
func mbStorm(m mbBox, cfg mbStormConfig) result {
	var res result
	run := newMbRun(m, cfg)
	begin := time.Now()
	run.startClients()
	run.startStorm()
	run.startWatchdog()
	close(run.start)
	if !run.wind(&res) {
		return res
	}
	run.audit(&res, time.Since(begin))
	return res
}

// mbRun is the state of one conservation storm, shared by its goroutines:
// the items, what became of each send, what each receiver took, and the
// flags by which the run is closed and stopped.
type mbRun struct {
	m      mbBox
	cfg    mbStormConfig
	items  [][]item
	status [][]uint8

	problems                  mbProblems
	progress                  atomic.Int64 // deliveries and receipts
	stop                      atomic.Bool  // the watchdog stopped the run
	closing                   atomic.Bool  // CloseWrite is about to be called
	stormStop                 atomic.Bool
	stalled                   atomic.Bool // the watchdog found nothing sent or received for cfg.stall
	senders, receivers, storm sync.WaitGroup
	watchdog                  sync.WaitGroup
	start                     chan struct{}
	watchdogDone              chan struct{}
	logs                      []*popLog // the receivers', then the storm's drains, then the final drain
	lastCap                   int       // set by the capper alone
	refusedN                  atomic.Int64
	batchSent, batchReceived  atomic.Int64 // items moved by TrySendMany and TryRecvMany
}

// newMbRun sets a storm up: the items each sender will send, and a log
// for each receiver, for the storm's drains and for the final drain.
func newMbRun(m mbBox, cfg mbStormConfig) *mbRun {
	run := &mbRun{
		m:            m,
		cfg:          cfg,
		items:        makeItems(cfg.senders, cfg.perSender),
		status:       make([][]uint8, cfg.senders),
		start:        make(chan struct{}),
		watchdogDone: make(chan struct{}),
		logs:         make([]*popLog, cfg.receivers+2),
		lastCap:      cfg.capacity,
	}
	for p := range run.status {
		run.status[p] = make([]uint8, cfg.perSender)
	}
	for c := range run.logs {
		run.logs[c] = newPopLog(cfg.senders, cfg.perSender)
	}
	return run
}

// startClients starts the senders and the receivers; they wait for start.
func (run *mbRun) startClients() {
	for p := range run.cfg.senders {
		run.senders.Go(func() { run.send(p) })
	}
	for c := range run.cfg.receivers {
		run.receivers.Go(func() {
			r := rand.New(rand.NewPCG(run.cfg.seed, uint64(1000+c)))
			<-run.start
			mbReceive(run.m, r, c, run.items, run.logs[c], &run.progress, &run.batchReceived, &run.problems)
		})
	}
}

// send is sender p: it sends its items in order, one at a time or in
// batches, and records what became of each.
func (run *mbRun) send(p int) {
	m, items, status := run.m, run.items, run.status
	r := rand.New(rand.NewPCG(run.cfg.seed, uint64(p)))
	<-run.start
	for s := 0; s < len(items[p]); {
		if run.stop.Load() {
			break
		}
		if r.IntN(64) == 0 {
			// The bug: nil accepted, or refused for another reason
			// than being nil (Nil comes first in the rules); or a
			// batch with a nil that sends the items before it (the
			// item then comes out twice, or though refused).
			if res := m.TrySend(nil); res != spec.Nil {
				run.problems.add("sender %d: TrySend(nil) reported %v, want Nil", p, res)
			}
			if err := m.Send(nil); !errors.Is(err, spec.ErrNil) {
				run.problems.add("sender %d: Send(nil) returned %v, want ErrNil", p, err)
			}
			if n, res := m.TrySendMany([]*item{&items[p][s], nil}); n != 0 || res != spec.Nil {
				run.problems.add("sender %d: TrySendMany with a nil reported %d %v, want 0 Nil", p, n, res)
			}
		}
		if r.IntN(6) == 0 {
			// A batch of the next items, of which a prefix goes.
			k := min(1+r.IntN(8), len(items[p])-s)
			xs := make([]*item, k)
			for i := range xs {
				xs[i] = &items[p][s+i]
			}
			n := mbSendBatch(m, xs, r.IntN(4) != 0, &run.closing, &run.problems)
			for i := range k {
				status[p][s+i] = refused
				if i < n {
					status[p][s+i] = delivered
				}
			}
			run.progress.Add(int64(n))
			run.batchSent.Add(int64(n))
			run.refusedN.Add(int64(k - n))
			s += k
			continue
		}
		status[p][s] = mbSend(m, r, &items[p][s], r.IntN(4) != 0, &run.closing, &run.problems)
		if status[p][s] == delivered {
			run.progress.Add(1)
		} else {
			run.refusedN.Add(1)
		}
		s++
	}
}

// startStorm starts the storm: one goroutine for each kind of
// disturbance, so that each knows the state it alone changes.
func (run *mbRun) startStorm() {
	run.storm.Go(run.pauser)
	run.storm.Go(run.interrupter)
	run.storm.Go(run.capper)
	run.storm.Go(run.drainer)
}

// pauser pauses and resumes the mailbox until the storm stops; it always
// resumes before it stops.
func (run *mbRun) pauser() {
	m := run.m
	r := rand.New(rand.NewPCG(run.cfg.seed, 2000))
	<-run.start
	for !run.stormStop.Load() {
		// The bug: Pause or Resume misreporting whether they changed
		// the state (only this goroutine pauses and resumes, so each
		// call changes it), or Flags not showing a pause that holds.
		if !m.Pause() {
			run.problems.add("Pause reported the mailbox paused already, but only the pauser pauses it")
		}
		if f := m.Flags(); f&spec.FlagPaused == 0 {
			run.problems.add("Flags = %v while paused, want Paused", f)
		}
		jitter(r, 50)
		if !m.Resume() {
			run.problems.add("Resume reported the mailbox running already, but only the pauser pauses it")
		}
		jitter(r, 200)
	}
}

// interrupter interrupts sleeping calls until the storm stops.
func (run *mbRun) interrupter() {
	cfg := run.cfg
	r := rand.New(rand.NewPCG(cfg.seed, 2001))
	<-run.start
	for !run.stormStop.Load() {
		n := r.IntN(4)
		if r.IntN(16) == 0 {
			n = 1 << 10
		}
		// The bug: Interrupt claiming to have woken more calls than
		// it was allowed to, or than there are goroutines that could
		// be asleep in the mailbox.
		if woke := run.m.Interrupt(n); woke < 0 || woke > n || woke > cfg.senders+cfg.receivers {
			run.problems.add("Interrupt(%d) reported %d woken, with %d senders and %d receivers", n, woke, cfg.senders, cfg.receivers)
		}
		jitter(r, 200)
	}
}

// capper changes the capacity until the storm stops.
func (run *mbRun) capper() {
	m := run.m
	r := rand.New(rand.NewPCG(run.cfg.seed, 2002))
	caps := []int{0, 1, 2, 3, 8, 64, spec.Unbounded}
	<-run.start
	for !run.stormStop.Load() {
		c := caps[r.IntN(len(caps))]
		m.SetCap(c)
		run.lastCap = c
		// The bug: a capacity that does not hold, or flags that
		// disagree with it (only this goroutine sets it): Bounded
		// wrong, or a mailbox of capacity 0 that is not Full.
		if got := m.Cap(); got != c {
			run.problems.add("Cap = %s just after SetCap(%s), and only the capper sets it", capString(got), capString(c))
		}
		f := m.Flags()
		if (f&spec.FlagBounded != 0) != (c != spec.Unbounded) || c == 0 && f&spec.FlagFull == 0 {
			run.problems.add("Flags = %v at capacity %s", f, capString(c))
		}
		// The bug: a mailbox that nobody has closed reported closed.
		// (closing is read after Flags: if it is still false,
		// CloseWrite had not been called when Flags took its state.)
		if f&(spec.FlagReadable|spec.FlagWritable) != spec.FlagReadable|spec.FlagWritable && !run.closing.Load() {
			run.problems.add("Flags = %v before the mailbox was closed, want Readable and Writable", f)
		}
		jitter(r, 200)
	}
}

// drainer drains the mailbox now and then until the storm stops.
func (run *mbRun) drainer() {
	r := rand.New(rand.NewPCG(run.cfg.seed, 2003))
	<-run.start
	for !run.stormStop.Load() {
		// Now and then take everything: the storm's drains count as
		// one more receiver. They stop at the close, leaving the rest
		// to the final drain.
		if !run.closing.Load() {
			for _, x := range run.m.Drain() {
				run.logs[run.cfg.receivers].take(run.items, x)
				run.progress.Add(1)
			}
		}
		jitter(r, 5000)
	}
}

// startWatchdog starts the watchdog: if nothing is sent or received for
// cfg.stall, an item is lost or a call sleeps for good; it stops the
// senders and closes and releases the mailbox, so that the run ends and
// reports what is missing instead of hanging.
func (run *mbRun) startWatchdog() {
	m := run.m
	run.watchdog.Go(func() {
		watchStall(run.watchdogDone, &run.progress, run.cfg.stall, func() {
			run.stalled.Store(true)
			run.stop.Store(true)
			run.closing.Store(true)
			m.Resume()
			m.CloseWrite()
			m.CloseRead()
			m.Interrupt(1 << 10)
		})
	})
}

// closeBoth closes the mailbox for writing, and for reading too if the
// run cuts it halfway.
func (run *mbRun) closeBoth(res *result) {
	// The bug, for each close below: a close that reports the mailbox
	// closed already, though nothing else closed it.
	run.closing.Store(true)
	if !run.m.CloseWrite() && !run.stalled.Load() {
		res.problemf("CloseWrite reported the mailbox closed already; nothing had closed it")
	}
	if run.cfg.cut && !run.m.CloseRead() && !run.stalled.Load() {
		res.problemf("CloseRead reported the mailbox closed for reading already; nothing had closed it")
	}
}

// wind closes the mailbox when the run calls for it and waits for the
// senders, the storm and the receivers to return, in that order. It
// reports false, with res.hang set, if one of them hangs.
func (run *mbRun) wind(res *result) bool {
	cfg := run.cfg
	stopAll := func() {
		run.stormStop.Store(true)
		close(run.watchdogDone)
	}
	if cfg.cut {
		// Close at both ends halfway through, racing everything: sends
		// that report delivered must be received or come back from the
		// final Drain; the rest report Unwritable.
		half := int64(cfg.senders * cfg.perSender) // a delivery and a receipt per item: about half of them
		for run.progress.Load() < half && !run.stop.Load() {
			time.Sleep(100 * time.Microsecond)
		}
		run.closeBoth(res)
	}
	if res.hang = waitAll(&run.senders, cfg.finish); res.hang != "" {
		stopAll()
		return false
	}
	if !cfg.cut {
		// Close for writing while the storm still blows: the receivers
		// then take what is left, through pauses, interrupts and
		// capacity changes.
		run.closeBoth(res)
	}
	run.stormStop.Store(true)
	if res.hang = waitAll(&run.storm, cfg.finish); res.hang != "" {
		close(run.watchdogDone)
		return false
	}
	// The pauser always resumes before it stops.
	if run.m.Resume() && !run.stalled.Load() {
		// The bug: a Resume that lost track of the pauser's last Resume.
		res.problemf("Resume after the storm reported the mailbox paused; the pauser had resumed it")
	}
	hang := waitAll(&run.receivers, cfg.finish)
	close(run.watchdogDone)
	run.watchdog.Wait()
	if res.hang = hang; hang != "" {
		return false
	}
	return true
}

// audit, once everything has returned, takes what is left with a final
// Drain, checks the quiescent mailbox's state, accounts for every item
// (mbAccount), and adds what the goroutines found wrong.
func (run *mbRun) audit(res *result, elapsed time.Duration) {
	m, cfg, logs := run.m, run.cfg, run.logs
	stalled := run.stalled.Load()
	if !cfg.cut && !m.CloseRead() && !stalled {
		res.problemf("CloseRead reported the mailbox closed for reading already; nothing had closed it")
	}
	// Everything has returned. What is left must come out of Drain: after
	// CloseRead, the items are still counted and can be taken back.
	final := logs[cfg.receivers+1]
	left := m.Drain()
	for _, x := range left {
		final.take(run.items, x)
	}
	res.logf("seed %#x: %d senders x %d items, %d receivers, capacity %s then the storm's, %s: %v; %d refused, %d taken by storm drains, %d by the final drain; %d sent by TrySendMany, %d received by TryRecvMany (chaos %v)",
		cfg.seed, cfg.senders, cfg.perSender, cfg.receivers, capString(cfg.capacity), map[bool]string{true: "closed at both ends halfway", false: "closed for writing at the end"}[cfg.cut],
		elapsed.Round(time.Millisecond), run.refusedN.Load(), len(logs[cfg.receivers].got), len(left), run.batchSent.Load(), run.batchReceived.Load(), chaos.Enabled)
	for c := range cfg.receivers {
		res.logf("receiver %d took %d", c, len(logs[c].got))
	}
	if stalled {
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
	if run.lastCap != spec.Unbounded {
		want |= spec.FlagBounded
	}
	if run.lastCap == 0 {
		want |= spec.FlagFull
	}
	if f := m.Flags() &^ spec.FlagInterrupt; f != want && !stalled {
		res.problemf("Flags = %v at the end (capacity %s), want %v (and perhaps Interrupt)", f, capString(run.lastCap), want)
	}
	if x, r := m.TryRecv(); r != spec.Unreadable || x != nil {
		res.problemf("TryRecv on the closed, drained mailbox reported %v, want Unreadable", r)
	}
	if r := m.TrySend(&item{producer: -1}); r != spec.Unwritable {
		res.problemf("TrySend on the closed mailbox reported %v, want Unwritable", r)
	}
	if msg := mbAccount(run.items, run.status, logs, cfg.receivers); msg != "" {
		res.problemf("conservation broken (seed %#x; receivers 0..%d, %d is the storm's drains, %d the final drain):\n%s",
			cfg.seed, cfg.receivers-1, cfg.receivers, cfg.receivers+1, msg)
	}
	run.problems.mu.Lock()
	res.problems = append(res.problems, run.problems.list...)
	if run.problems.more > 0 {
		res.problemf("and %d more problems like those", run.problems.more)
	}
	run.problems.mu.Unlock()
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
	testdeadline.Guard(t, testdeadline.Default)
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
