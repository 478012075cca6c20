package bench

import (
	"iter"
	"sync"
)

// mutexPipe is the simplest blocking FIFO that parks its waiters the only
// way code outside the Go runtime can, on a channel of each waiter's own,
// with nothing else: a ring of items under one mutex, lists of sleeping
// senders and receivers, and a direct hand-over to the longest sleeper, as
// a channel does. It has no flags and no contract beyond send and
// receive. In BenchmarkMailbox and BenchmarkMailboxPingPong it is the
// yardstick for two things. At capacity 1, where nearly every item parks
// someone, it is the floor for parking outside the runtime: a channel
// parks inside its own send or receive, under the lock that operation
// takes anyway, while anything else pays one more channel operation on
// each side of every park (the sleeper's receive, the waker's send). With
// room to spare, it shows what a plain mutex and a ring that never
// allocates cost when nothing parks.
type mutexPipe struct {
	mu                 sync.Mutex
	ring               []*int
	head, n            int
	senders, receivers []*mutexWaiter // oldest first
	free               []*mutexWaiter
}

// A mutexWaiter is one sleeping call: it parks on ch, which its waker
// signals once, after handing it v (the item to send, or the item
// received).
type mutexWaiter struct {
	ch chan struct{}
	v  *int
}

func newMutexPipe(capacity int) *mutexPipe { return &mutexPipe{ring: make([]*int, capacity)} }

// waiter returns a waiter for a call about to sleep; p.mu is held.
func (p *mutexPipe) waiter(v *int) *mutexWaiter {
	var w *mutexWaiter
	if k := len(p.free); k > 0 {
		w, p.free = p.free[k-1], p.free[:k-1]
	} else {
		w = &mutexWaiter{ch: make(chan struct{}, 1)}
	}
	w.v = v
	return w
}

// sleep parks until w is signalled, recycles w and returns its item.
func (p *mutexPipe) sleep(w *mutexWaiter) *int {
	<-w.ch
	v := w.v
	w.v = nil
	p.mu.Lock()
	p.free = append(p.free, w)
	p.mu.Unlock()
	return v
}

func (p *mutexPipe) send(v *int) {
	p.mu.Lock()
	if len(p.receivers) > 0 { // hand v to the longest-sleeping receiver
		w := p.receivers[0]
		p.receivers = p.receivers[1:]
		w.v = v
		p.mu.Unlock()
		w.ch <- struct{}{}
		return
	}
	if p.n < len(p.ring) {
		p.ring[(p.head+p.n)%len(p.ring)] = v
		p.n++
		p.mu.Unlock()
		return
	}
	w := p.waiter(v)
	p.senders = append(p.senders, w)
	p.mu.Unlock()
	p.sleep(w)
}

func (p *mutexPipe) recv() *int {
	p.mu.Lock()
	if p.n > 0 {
		v := p.ring[p.head]
		p.ring[p.head] = nil
		p.head = (p.head + 1) % len(p.ring)
		p.n--
		if len(p.senders) > 0 { // the room goes to the longest-sleeping sender
			w := p.senders[0]
			p.senders = p.senders[1:]
			p.ring[(p.head+p.n)%len(p.ring)] = w.v
			p.n++
			p.mu.Unlock()
			w.ch <- struct{}{}
			return v
		}
		p.mu.Unlock()
		return v
	}
	w := p.waiter(nil)
	p.receivers = append(p.receivers, w)
	p.mu.Unlock()
	return p.sleep(w)
}

// coroutinePingPong is the floor for a sequential continuation moving
// between two pools: two goroutines pass a token back and forth over
// unbuffered channels, as the chan peer of BenchmarkGotoRoundTrip does,
// and each, on receiving it, resumes one iter.Pull coroutine until its
// next yield, as a pool's worker resumes a body that arrived by k.Goto.
// It runs n round trips.
func coroutinePingPong(n int) {
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		for range 2 * n {
			if !yield(struct{}{}) {
				return
			}
		}
	})
	defer stop()
	ping, pong := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for range ping {
			next()
			pong <- struct{}{}
		}
	})
	for range n {
		next()
		ping <- struct{}{}
		<-pong
	}
	close(ping)
	wg.Wait()
}
