package mailbox

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// sameSet reports whether a and b hold the same pointers, each once.
func sameSet(a, b []*int) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[*int]int{}
	for _, p := range b {
		seen[p]++
	}
	for _, p := range a {
		if seen[p] == 0 {
			return false
		}
		seen[p]--
	}
	return true
}

// batchItem is an item of the concurrent tests: its sender, its place in
// the sender's sequence, and the number of the batch it was sent in.
type batchItem struct{ sender, seq, batch int }

// batchRun runs senders that send their items by TrySendMany (batches of
// 1 to 16, the unsent rest retried) or Send, and receivers that take them
// by TryRecvMany (buffers of 1 to 16) or Recv, until the senders are done
// and the mailbox, closed for writing, is drained. It returns what each
// receiver got, in order, and each sender's items.
func batchRun(t *testing.T, capacity, senders, receivers, perSender int, seed uint64) ([][]*batchItem, [][]batchItem) {
	t.Helper()
	m := New[batchItem](capacity)
	items := make([][]batchItem, senders)
	for s := range items {
		items[s] = make([]batchItem, perSender)
		for i := range items[s] {
			items[s][i] = batchItem{sender: s, seq: i, batch: -1}
		}
	}
	got := make([][]*batchItem, receivers)
	var sendWG, recvWG sync.WaitGroup
	var problems atomic.Pointer[string]
	problem := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		problems.CompareAndSwap(nil, &s)
	}
	for s := range senders {
		sendWG.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(s)))
			batch := 0
			for i := 0; i < perSender; {
				if r.IntN(4) == 0 {
					items[s][i].batch = batch // a batch of its own
					batch++
					if err := m.Send(&items[s][i]); err != nil {
						problem("sender %d: Send: %v", s, err)
						return
					}
					i++
					continue
				}
				k := min(1+r.IntN(16), perSender-i)
				vs := make([]*batchItem, k)
				for j := range vs {
					vs[j] = &items[s][i+j]
					vs[j].batch = batch // before the send publishes it
				}
				batch++
				n, res := m.TrySendMany(vs)
				switch {
				case res == spec.Delivered && n >= 1 && n <= k:
					i += n
				case (res == spec.Full || res == spec.Paused) && n == 0:
					runtime.Gosched()
				default:
					problem("sender %d: TrySendMany of %d = %d %v", s, k, n, res)
					return
				}
			}
		})
	}
	for c := range receivers {
		recvWG.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(1000+c)))
			for {
				if r.IntN(4) == 0 {
					x, err := m.Recv()
					if errors.Is(err, ErrUnreadable) {
						return
					}
					if err != nil {
						problem("receiver %d: Recv: %v", c, err)
						return
					}
					got[c] = append(got[c], x)
					continue
				}
				dst := make([]*batchItem, 1+r.IntN(16))
				n, res := m.TryRecvMany(dst)
				switch {
				case res == spec.Received && n >= 1 && n <= len(dst):
					got[c] = append(got[c], dst[:n]...)
				case res == spec.Empty && n == 0:
					runtime.Gosched()
				case res == spec.Unreadable && n == 0:
					return
				default:
					problem("receiver %d: TryRecvMany(%d) = %d %v", c, len(dst), n, res)
					return
				}
			}
		})
	}
	finished := make(chan struct{})
	go func() {
		sendWG.Wait()
		m.CloseWrite()
		recvWG.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		// Release what closing can release; a receipt waiting for an item
		// that was never written stays stuck, and goleak reports it too.
		m.CloseRead()
		t.Fatalf("the run did not finish in 30s (capacity %d): a lost wake-up or a lost item; %d items left", capacity, m.Len())
	}
	if p := problems.Load(); p != nil {
		t.Fatal(*p)
	}
	return got, items
}

// Conservation and order under concurrency: several senders with
// TrySendMany and Send, several receivers with TryRecvMany and Recv, on
// bounded and unbounded mailboxes. Every item must be received exactly
// once, the very pointer sent, and each receiver must see each sender's
// items in order.
//
// The bug: a batch that loses or duplicates items when it races other
// sends and receipts (two batches claiming overlapping slots; a receipt
// batch that counts items a sender has not claimed), reorders them, or
// hands out a copy; a wake-up lost between a batch and a sleeper (the run
// hangs, and the deadline reports it); a result a batch never returns.
func TestBatchConcurrentConservation(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const senders, receivers, perSender = 3, 3, 4000
	for i, capacity := range []int{1, 7, Unbounded} {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			got, items := batchRun(t, capacity, senders, receivers, perSender, uint64(i)+1)
			count := make([][]int, senders)
			for s := range count {
				count[s] = make([]int, perSender)
			}
			for c, xs := range got {
				last := make([]int, senders)
				for s := range last {
					last[s] = -1
				}
				for _, x := range xs {
					if x == nil || x.sender < 0 || x.sender >= senders || x.seq < 0 || x.seq >= perSender || x != &items[x.sender][x.seq] {
						t.Fatalf("receiver %d got %p, which is not an item sent", c, x)
					}
					if x.seq <= last[x.sender] {
						t.Fatalf("receiver %d got (%d,%d) after (%d,%d): per-sender order broken", c, x.sender, x.seq, x.sender, last[x.sender])
					}
					last[x.sender] = x.seq
					count[x.sender][x.seq]++
				}
			}
			for s := range count {
				for i, n := range count[s] {
					if n != 1 {
						t.Fatalf("item (%d,%d) received %d times, want once", s, i, n)
					}
				}
			}
		})
	}
}

// A batch send is one step: with a single receiver, which sees the
// mailbox's order, the items of each batch that went in whole arrive
// together, with nothing from another sender between them. A batch
// receipt is one step too: with a single sender, whose items are numbered
// in the mailbox's order, what each TryRecvMany takes is a run of
// consecutive items, even with other receivers taking at once.
//
// The bug: a TrySendMany made of one claim per item, or a TryRecvMany of
// one receipt per item (each item correct, FIFO kept, but another
// operation can come between two items of the batch), which the contract
// forbids: "Nothing comes between two of them".
func TestBatchesAreOneStep(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	t.Run("send", func(t *testing.T) {
		const senders, perSender = 4, 4000
		got, _ := batchRun(t, Unbounded, senders, 1, perSender, 7)
		// Each batch item records the number of its batch; a batch of k
		// items that went in at once shows as k neighbours with the same
		// sender and batch. Items of a batch partly sent were numbered
		// again when the rest was retried, so a batch's items are
		// always contiguous in the one receiver's sequence.
		xs := got[0]
		where := map[[2]int]int{} // (sender, batch) → index of its last item seen
		for i, x := range xs {
			key := [2]int{x.sender, x.batch}
			if j, ok := where[key]; ok && j != i-1 {
				t.Fatalf("sender %d's batch %d: items at %d and %d, with %d other items between them: the batch was not one step",
					x.sender, x.batch, j, i, i-j-1)
			}
			where[key] = i
		}
	})
	t.Run("recv", func(t *testing.T) {
		m := New[int](Unbounded)
		const total, receivers = 20000, 3
		vs := batchOf(seq(1, total)...)
		var wg sync.WaitGroup
		var bad atomic.Pointer[string]
		var taken atomic.Int64
		for c := range receivers {
			wg.Go(func() {
				dst := make([]*int, 2+c*3)
				for {
					n, r := m.TryRecvMany(dst)
					if r == spec.Unreadable {
						return
					}
					if r != spec.Received {
						runtime.Gosched()
						continue
					}
					taken.Add(int64(n))
					for i := 1; i < n; i++ {
						if *dst[i] != *dst[i-1]+1 {
							s := fmt.Sprintf("receiver %d took %v in one TryRecvMany: not consecutive, so another receipt came between", c, valuesOf(dst[:n]))
							bad.CompareAndSwap(nil, &s)
						}
					}
				}
			})
		}
		for sent := 0; sent < total; {
			n, _ := m.TrySendMany(vs[sent:min(sent+5, total)])
			sent += n
		}
		m.CloseWrite()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		within(t, done, "the receivers of a write-closed mailbox")
		if s := bad.Load(); s != nil {
			t.Fatal(*s)
		}
		if n := taken.Load(); n != total {
			t.Fatalf("%d items received, want %d", n, total)
		}
	})
}
