package stress

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/insideout-go/insideout/spec"
)

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
