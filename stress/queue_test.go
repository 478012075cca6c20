package stress

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/queue"
	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// Sizes at INSIDEOUT_SOAK=1, chosen so that the whole package stays well
// under a minute under -race on two cores, with or without -tags chaos.
// INSIDEOUT_SOAK=n multiplies every one of them by n.
const (
	// Short checked histories: 8 clients (more goroutines than cores), a
	// few operations each, checked for linearizability round by round.
	// The operation counts are kept small on purpose: porcupine's search
	// time on a queue history grows steeply with the number of overlapping
	// pushes, and under -race with -tags chaos 8 clients of 4 mixed
	// operations took seconds on an occasional round (3.4 s seen, against
	// a 10 s CheckTimeout that would turn into an Unknown failure), where
	// these sizes stayed under 0.1 s in 10,000 rounds.
	historyClients = 8
	rolesOps       = 3     // per client: 4 producers x 3 pushes, 4 consumers x 3 pops
	rolesRounds    = 20000 // producers and consumers
	mixedOps       = 2     // per client, each a push or a pop
	mixedRounds    = 10000 // every client both pushes and pops
	edgeRounds     = 500   // producers and consumers across a segment boundary

	// Long runs.
	conserveItems   = 250000           // per producer, 4 producers
	stormOps        = 100000           // pushes per worker, 8 workers
	yieldEvery      = 16               // a conservation producer yields after this many pushes
	stallTimeout    = 10 * time.Second // no item popped for this long: one is lost
	finishTimeout   = 3 * time.Minute  // per soak unit: a run still going is a hang
	reportFirstMany = 20               // missing or duplicate items listed by name
)

// segmentSlots is impl/queue's segment size (its unexported constant of the
// same name). The edge scenario warms each queue up to just below a
// multiple of it so that its rounds cross from one segment to the next; if
// the implementation's size changes, update this, or the rounds only stay
// inside one segment (still correct tests, but no longer at the edge).
const segmentSlots = 1016

// resolveSeed returns the seed of a randomized test, from INSIDEOUT_SEED or
// random, and logs it so that a failure can be replayed.
func resolveSeed(t testing.TB) uint64 {
	t.Helper()
	seed, err := linearize.ResolveSeed(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %#x (replay with INSIDEOUT_SEED=%#x)", seed, seed)
	return seed
}

// soak returns the multiplier of every size: INSIDEOUT_SOAK, default 1.
func soak(t testing.TB) int {
	t.Helper()
	v := os.Getenv("INSIDEOUT_SOAK")
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("INSIDEOUT_SOAK=%q: want a positive integer multiplier", v)
	}
	return n
}

// historyScenario is the campaign's queue scenario at this suite's sizes.
func historyScenario(t *testing.T, name string, newQueue func() spec.Queue[int], ops, rounds int) linearize.Scenario[spec.Queue[int], model.QueueInput, model.QueueOutput] {
	sc := queuetest.Scenario(name, newQueue)
	sc.Clients = historyClients
	sc.OpsPerClient = ops
	sc.Rounds = rounds * soak(t)
	t.Logf("%s: %d rounds of %d clients x %d ops (chaos %v)", name, sc.Rounds, sc.Clients, sc.OpsPerClient, chaos.Enabled)
	return sc
}

// Thousands of short histories, 4 producers against 4 consumers, each
// checked for linearizability with its final quiescent Len and drain.
//
// The bug: any interleaving of concurrent pushes with concurrent pops that
// loses, duplicates or reorders an item, returns empty from a non-empty
// queue, leaves Len inexact once quiescent, or hangs a call; and, under
// -race, any access to a shared word that is not synchronised.
func TestQueueRolesLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := historyScenario(t, "queue-roles", queuetest.NewQueue, rolesOps, rolesRounds)
	sc.Roles = [][]int{{1, 0}, {0, 1}} // even clients push, odd clients pop
	sc.Test(t)
}

// The same with every client drawing pushes and pops at random, so that
// a client may pop after its own push while others push and pop around it.
//
// The bug: as above, plus those that need one client to be producer and
// consumer, for example a pop that misses its own client's earlier push.
func TestQueueMixedLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := historyScenario(t, "queue-mixed", queuetest.NewQueue, mixedOps, mixedRounds)
	sc.Test(t)
}

// Producers and consumers on a queue whose indices have been moved to just
// below a segment boundary, so that each round's concurrent operations
// create, link, find and retire segments while they race.
//
// The bug: two producers creating the next segment and one item landing in
// the loser's copy (lost); a consumer that moves headSeg past a segment
// still holding items; a hint that moves backwards; an item popped from
// the wrong segment's slot.
func TestQueueSegmentEdgeLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var round atomic.Uint64
	newQueue := func() spec.Queue[int] {
		q := queue.New[int]()
		// 1004..1016 pushes and pops: the round's 12 pushes, and the
		// indices its consumers burn, straddle the first segment boundary.
		n := segmentSlots - 12 + int(round.Add(1)%13)
		items := make([]int, n)
		for i := range items {
			q.Push(&items[i])
		}
		for i := range items {
			// The bug: a sequential push-then-pop that does not give the
			// same pointers back in order (a lost or reordered item).
			if q.Pop() != &items[i] {
				t.Errorf("warm-up of %d items: pop %d is not the item pushed %d-th", n, i, i)
				break
			}
		}
		return q
	}
	sc := historyScenario(t, "queue-segment-edge", newQueue, rolesOps, edgeRounds)
	sc.Roles = [][]int{{1, 0}, {0, 1}}
	sc.Test(t)
}

// An item is tagged with who pushed it and when.
type item struct {
	producer int
	seq      int
}

// items returns the items that producers push, items[p][s] being producer
// p's s-th push. Tests push pointers into these slices, so every popped
// pointer can be checked to be one of them.
func makeItems(producers, perProducer int) [][]item {
	items := make([][]item, producers)
	for p := range items {
		items[p] = make([]item, perProducer)
		for s := range items[p] {
			items[p][s] = item{producer: p, seq: s}
		}
	}
	return items
}

// A consumer's view of what it popped: the items in order, and the first
// violations it saw on the way.
type popLog struct {
	got    []*item
	last   []int    // per producer, the sequence number of the last item seen
	errors []string // the first few violations, in order
}

func newPopLog(producers, capacity int) *popLog {
	l := &popLog{got: make([]*item, 0, capacity), last: make([]int, producers)}
	for p := range l.last {
		l.last[p] = -1
	}
	return l
}

func (l *popLog) errorf(format string, args ...any) {
	if len(l.errors) < reportFirstMany {
		l.errors = append(l.errors, fmt.Sprintf(format, args...))
	}
}

// take records x, popped by this consumer, checking that it is one of
// items and that it comes after this consumer's earlier items from the
// same producer.
func (l *popLog) take(items [][]item, x *item) {
	p, s := x.producer, x.seq
	// The bug: Pop returning something that was never pushed (a sentinel,
	// a stale slot, a copy of an item): a corrupted or foreign pointer.
	if p < 0 || p >= len(items) || s < 0 || s >= len(items[p]) || x != &items[p][s] {
		l.errorf("popped %p = %+v, which is not an item that was pushed", x, *x)
		return
	}
	// The bug: per-producer FIFO broken. Producer p pushed s after all of
	// p's smaller sequence numbers, so in a FIFO queue no consumer can pop
	// s and then one of those: they were ahead of s in the queue.
	if s <= l.last[p] {
		l.errorf("popped (producer %d, seq %d) after (producer %d, seq %d): per-producer FIFO order broken", p, s, p, l.last[p])
	}
	l.last[p] = s
	l.got = append(l.got, x)
}

// conserved checks that the logs together hold every item exactly once,
// and returns a description of every violation, or "".
func conserved(items [][]item, logs []*popLog) string {
	var b strings.Builder
	for c, l := range logs {
		for _, e := range l.errors {
			fmt.Fprintf(&b, "consumer %d: %s\n", c, e)
		}
	}
	count := make([][]int, len(items))
	for p := range count {
		count[p] = make([]int, len(items[p]))
	}
	for _, l := range logs {
		for _, x := range l.got {
			count[x.producer][x.seq]++
		}
	}
	var missing, duplicate []string
	nMissing, nDuplicate := 0, 0
	for p := range count {
		for s, n := range count[p] {
			switch {
			case n == 0:
				// The bug: an item lost, never popped by anyone.
				nMissing++
				if len(missing) < reportFirstMany {
					missing = append(missing, fmt.Sprintf("(%d,%d)", p, s))
				}
			case n > 1:
				// The bug: an item popped twice (two consumers given one slot).
				nDuplicate++
				if len(duplicate) < reportFirstMany {
					duplicate = append(duplicate, fmt.Sprintf("(%d,%d)x%d", p, s, n))
				}
			}
		}
	}
	if nMissing > 0 {
		fmt.Fprintf(&b, "%d items missing, (producer,seq): %s\n", nMissing, strings.Join(missing, " "))
	}
	if nDuplicate > 0 {
		fmt.Fprintf(&b, "%d items popped more than once: %s\n", nDuplicate, strings.Join(duplicate, " "))
	}
	return b.String()
}

// quiescentEmpty checks a queue that nothing uses any more and that should
// be empty, and returns what is wrong with it.
func quiescentEmpty(q spec.Queue[item]) []string {
	var problems []string
	// The bug: counters that disagree once everything is done (an index
	// given back twice, or a pop that took an item but not its index).
	if n := q.Len(); n != 0 {
		problems = append(problems, fmt.Sprintf("Len = %d at the end, want 0", n))
	}
	// The bug: an item left behind, or a slot state that reads as an item.
	if x := q.Pop(); x != nil {
		problems = append(problems, fmt.Sprintf("Pop = %p (%+v) at the end, want nil", x, *x))
	}
	return problems
}

// waitAll waits for wg, or for limit; it returns every goroutine's stack
// if the wait timed out (a call that never returns is a hang), else "".
func waitAll(wg *sync.WaitGroup, limit time.Duration) string {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-done:
		return ""
	case <-timer.C:
		buf := make([]byte, 1<<20)
		return string(buf[:runtime.Stack(buf, true)])
	}
}

// A result is what a conservation or storm run found: lines for the log,
// and the problems, none if the queue behaved.
type result struct {
	log      []string
	problems []string
	hang     string // every goroutine's stack, if the run did not finish
}

func (r *result) logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf(format, args...))
}

func (r *result) problemf(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// report logs r and fails t with its problems.
func (r *result) report(t *testing.T) {
	t.Helper()
	for _, l := range r.log {
		t.Log(l)
	}
	if r.hang != "" {
		t.Fatalf("goroutines still running (hang or livelock):\n%s", r.hang)
	}
	for _, p := range r.problems {
		t.Error(p)
	}
}

// conserveConfig sizes a conservation run.
type conserveConfig struct {
	producers, consumers, perProducer int
	stall                             time.Duration // no pop for this long: give up
	finish                            time.Duration // the run still going: a hang
}

// conserve runs producers that push numbered items and consumers that pop
// until every item is taken, then checks conservation and order.
func conserve(q spec.Queue[item], cfg conserveConfig) result {
	var res result
	total := cfg.producers * cfg.perProducer
	items := makeItems(cfg.producers, cfg.perProducer)
	var (
		remaining atomic.Int64 // items not yet popped
		stalled   atomic.Bool  // a consumer gave up waiting
		empties   atomic.Int64 // Pops that returned nil, for the log
		wg        sync.WaitGroup
		start     = make(chan struct{})
		logs      = make([]*popLog, cfg.consumers)
	)
	remaining.Store(int64(total))
	begin := time.Now()
	for p := range cfg.producers {
		wg.Go(func() {
			<-start
			for s := range items[p] {
				q.Push(&items[p][s])
				if s%yieldEvery == yieldEvery-1 {
					// Let the consumers catch up now and then, so that
					// they often meet the producers at an empty queue,
					// where pops race pushes for the same slots.
					runtime.Gosched()
				}
			}
		})
	}
	for c := range cfg.consumers {
		l := newPopLog(cfg.producers, total/cfg.consumers)
		logs[c] = l
		wg.Go(func() {
			<-start
			seen, since := remaining.Load(), time.Now()
			idle := 0
			for remaining.Load() > 0 && !stalled.Load() {
				x := q.Pop()
				if x == nil {
					// Empty for now: spin, but give up once nothing at all
					// has been popped for cfg.stall, so that a lost item
					// fails the test instead of hanging it.
					idle++
					if idle%256 == 0 {
						if r := remaining.Load(); r != seen {
							seen, since = r, time.Now()
						} else if time.Since(since) > cfg.stall {
							stalled.Store(true)
						}
					}
					runtime.Gosched()
					continue
				}
				remaining.Add(-1)
				l.take(items, x)
			}
			empties.Add(int64(idle))
		})
	}
	close(start)
	if res.hang = waitAll(&wg, cfg.finish); res.hang != "" {
		return res
	}
	res.logf("%d producers x %d items, %d consumers: %v, %d empty pops (chaos %v)",
		cfg.producers, cfg.perProducer, cfg.consumers, time.Since(begin).Round(time.Millisecond), empties.Load(), chaos.Enabled)
	for c, l := range logs {
		res.logf("consumer %d popped %d", c, len(l.got))
	}
	if stalled.Load() {
		res.problemf("no item popped for %v with %d of %d items still expected", cfg.stall, remaining.Load(), total)
	}
	if msg := conserved(items, logs); msg != "" {
		res.problemf("conservation broken:\n%s", msg)
	}
	res.problems = append(res.problems, quiescentEmpty(q)...)
	return res
}

// One long run: 4 producers each push a numbered sequence of items while 4
// consumers pop until all are taken.
//
// The bug: an item lost or popped twice under sustained contention, across
// hundreds of segments (which a short history never reaches); per-producer
// FIFO order broken; a foreign pointer popped; counters left inexact at the
// end. A lost item does not hang the test: consumers give up once no item
// has been popped for stallTimeout, and the test names what is missing.
func TestQueueConservation(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	chaos.SetSeed(resolveSeed(t))
	n := soak(t)
	res := conserve(queue.New[item](), conserveConfig{
		producers: 4, consumers: 4, perProducer: conserveItems * n,
		stall: stallTimeout, finish: finishTimeout * time.Duration(n),
	})
	res.report(t)
}

// stormConfig sizes a storm.
type stormConfig struct {
	workers, perWorker int
	seed               uint64
	finish             time.Duration
}

// storm runs workers that each push their own numbered items and pop, in
// random bursts, then drains the queue, and checks conservation and order.
func storm(q spec.Queue[item], cfg stormConfig) result {
	var res result
	items := makeItems(cfg.workers, cfg.perWorker)
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		logs   = make([]*popLog, cfg.workers+1) // the last is the final drain
		pushed = make([]int, cfg.workers)
	)
	begin := time.Now()
	for w := range cfg.workers {
		l := newPopLog(cfg.workers, cfg.perWorker)
		logs[w] = l
		wg.Go(func() {
			r := rand.New(rand.NewPCG(cfg.seed, uint64(w)))
			<-start
			next := 0
			for next < cfg.perWorker {
				burst := 1 + r.IntN(64)
				if r.IntN(2) == 0 {
					for ; burst > 0 && next < cfg.perWorker; burst-- {
						q.Push(&items[w][next])
						next++
					}
				} else {
					for ; burst > 0; burst-- {
						if x := q.Pop(); x != nil {
							l.take(items, x)
						}
					}
				}
			}
			pushed[w] = next
		})
	}
	close(start)
	if res.hang = waitAll(&wg, cfg.finish); res.hang != "" {
		return res
	}
	elapsed := time.Since(begin)

	inFlight := 0
	for w := range cfg.workers {
		inFlight += pushed[w] - len(logs[w].got)
	}
	// The bug: Len wrong when nothing runs (spec.Queue makes it exact then).
	if n := q.Len(); n != inFlight {
		res.problemf("quiescent Len = %d, want %d (pushed minus popped)", n, inFlight)
	}
	// The drain is one more consumer. It stops at nil, or once it has
	// popped more items than were ever pushed: a queue that keeps
	// producing items must not hang the test.
	drain := newPopLog(cfg.workers, inFlight)
	logs[cfg.workers] = drain
	for x := q.Pop(); x != nil; x = q.Pop() {
		drain.take(items, x)
		if len(drain.got) > cfg.workers*cfg.perWorker {
			res.problemf("the drain popped more items than were pushed")
			break
		}
	}
	res.logf("seed %#x: %d workers x %d pushes in random bursts: %v; %d items left for the drain (chaos %v)",
		cfg.seed, cfg.workers, cfg.perWorker, elapsed.Round(time.Millisecond), len(drain.got), chaos.Enabled)
	if msg := conserved(items, logs); msg != "" {
		res.problemf("conservation broken (seed %#x; consumers 0..%d are the workers, %d the drain):\n%s",
			cfg.seed, cfg.workers-1, cfg.workers, msg)
	}
	res.problems = append(res.problems, quiescentEmpty(q)...)
	return res
}

// A storm: 8 workers each push their own numbered items and pop, in random
// bursts, so that the queue swings between empty and long and every
// goroutine is producer and consumer at once. At the end, with nothing
// running, the queue is drained, and every item must have come out exactly
// once.
//
// The bug: as in TestQueueConservation, plus those of pops racing pushes on
// an often-empty queue: an index given back while a producer is writing it,
// a hand-over whose item is lost or delivered twice, an abandoned slot
// whose item is later popped anyway; and Len inexact once quiescent.
func TestQueueStorm(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	chaos.SetSeed(seed)
	n := soak(t)
	res := storm(queue.New[item](), stormConfig{
		workers: 8, perWorker: stormOps * n, seed: seed,
		finish: finishTimeout * time.Duration(n),
	})
	res.report(t)
}
