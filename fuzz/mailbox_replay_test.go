package fuzz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// FuzzMailbox's sequential replay: a decoded program run step by step on
// a mailbox beside the reference model.MailboxRef, every result and the
// state after every step compared with the reference's, in byte order and
// client by client (checkMailboxSequential). The input language is in
// mailbox_decode_test.go, the target in mailbox_test.go.

// mbReplay runs a program step by step on a mailbox and on the reference
// model.MailboxRef side by side.
type mbReplay struct {
	m     spec.Mailbox[int]
	ref   *model.MailboxRef
	sent  map[int]*int    // the pointer sent for each value, to check identity
	live  context.Context // never ends while the replay runs
	ended context.Context // has ended before the replay starts
	log   []string        // what each step did, for the failure message
}

func newMbReplay(m spec.Mailbox[int], capacity int) *mbReplay {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	return &mbReplay{m: m, ref: model.NewMailboxRef(capacity), sent: map[int]*int{}, ended: ended}
}

// item returns the pointer to send for value v: nil for 0, else a fresh
// pointer, remembered so that what comes out can be checked to be it.
func (r *mbReplay) item(v int) *int {
	if v == 0 {
		return nil
	}
	p := new(int)
	*p = v
	r.sent[v] = p
	return p
}

// got renders a received pointer, checking that it is one that was sent
// with its value.
func (r *mbReplay) got(p *int) (string, error) {
	if p == nil {
		return "nil", nil
	}
	// The bug: an item handed out that was never sent, or a copy of a
	// sent item instead of the very pointer (items move by pointer and are
	// never copied).
	if r.sent[*p] != p {
		return fmt.Sprint(*p), fmt.Errorf("received %d at %p, which is not the pointer sent with that value", *p, p)
	}
	return fmt.Sprint(*p), nil
}

// errName renders a blocking call's error as the result it stands for.
func errName(err error, ok spec.Result) string {
	switch {
	case err == nil:
		return ok.String()
	case errors.Is(err, spec.ErrUnwritable):
		return spec.Unwritable.String()
	case errors.Is(err, spec.ErrUnreadable):
		return spec.Unreadable.String()
	case errors.Is(err, spec.ErrNil):
		return spec.Nil.String()
	case errors.Is(err, spec.ErrInterrupted):
		return spec.Interrupted.String()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "Canceled"
	}
	return fmt.Sprintf("error %q", err)
}

// blocking runs f, a blocking call that the reference says returns at
// once. If it has not returned after mbSleepLimit it slept where it must
// not; blocking then releases it (resume, close, interrupt), so that no
// goroutine outlives the test, and reports it.
func (r *mbReplay) blocking(f func()) error {
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	timer := time.NewTimer(mbSleepLimit)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
	}
	for range 100 {
		r.m.Resume()
		r.m.CloseWrite()
		r.m.CloseRead()
		r.m.Interrupt(1 << 10)
		select {
		case <-done:
			return errors.New("the call slept although the reference says it returns at once (released by resume, close and interrupt)")
		case <-time.After(10 * time.Millisecond):
		}
	}
	return errors.New("the call slept although the reference says it returns at once, and resume, close and interrupt did not release it")
}

// step runs st on both mailboxes. It returns what the implementation
// returned and what the reference says it must; skip means the call would
// sleep (no interrupt pending), so it was not made.
func (r *mbReplay) step(st mbStep) (got, want string, skip bool, err error) {
	m, ref := r.m, r.ref
	switch st.kind {
	case mbTrySend:
		got = m.TrySend(r.item(st.value)).String()
		want = ref.TrySend(st.value).String()

	case mbSend, mbSendCtx, mbSendDone:
		ctx := r.live
		if st.kind == mbSendDone {
			ctx = r.ended
		}
		blocked := st.value != 0 && ref.SendBlocked()
		switch {
		case !blocked:
			want = ref.TrySend(st.value).String()
		case st.kind == mbSendDone:
			// Decided below, from what it returned: the model allows an
			// ended context's error, or a pending interrupt.
		case ref.Up:
			ref.Interrupted()
			want = spec.Interrupted.String()
		default:
			return "", "", true, nil
		}
		v := r.item(st.value)
		var e error
		err = r.blocking(func() {
			if st.kind == mbSend {
				e = m.Send(v)
			} else {
				e = m.SendContext(ctx, v)
			}
		})
		got = errName(e, spec.Delivered)
		if blocked && st.kind == mbSendDone {
			want = r.endedWant(got)
		}

	case mbTrySendMany:
		ps := make([]*int, len(st.values))
		for i, v := range st.values {
			ps[i] = r.item(v)
		}
		n, res := m.TrySendMany(ps)
		wn, wres := ref.TrySendMany(st.values)
		got, want = fmt.Sprintf("%d %v", n, res), fmt.Sprintf("%d %v", wn, wres)

	case mbTryRecvMany:
		dst := make([]*int, st.n)
		n, res := m.TryRecvMany(dst)
		vs, wres := ref.TryRecvMany(st.n)
		want = fmt.Sprintf("%v %v", wres, vs)
		if n < 0 || n > len(dst) {
			// The bug: a count that is no count of dst's items.
			got = fmt.Sprintf("%v %d items", res, n)
			break
		}
		gs := []string{}
		for _, p := range dst[:n] {
			g, gerr := r.got(p)
			gs = append(gs, g)
			err = errors.Join(err, gerr)
		}
		got = fmt.Sprintf("%v %v", res, gs)
		// The bug: a receipt that writes into dst past the items it
		// reports (an item taken and not counted, so lost).
		for i, p := range dst[n:] {
			if p != nil {
				err = errors.Join(err, fmt.Errorf("received %d items and wrote dst[%d] past them", n, n+i))
			}
		}

	case mbTryRecv:
		p, res := m.TryRecv()
		v, wres := ref.TryRecv()
		got, want = res.String(), wres.String()
		if res == spec.Received || p != nil {
			var g string
			g, err = r.got(p)
			got += " " + g
		}
		if wres == spec.Received {
			want += fmt.Sprintf(" %d", v)
		}

	case mbRecv, mbRecvCtx, mbRecvDone:
		ctx := r.live
		if st.kind == mbRecvDone {
			ctx = r.ended
		}
		blocked := ref.RecvBlocked()
		switch {
		case !blocked:
			v, wres := ref.TryRecv()
			want = wres.String()
			if wres == spec.Received {
				want += fmt.Sprintf(" %d", v)
			}
		case st.kind == mbRecvDone:
		case ref.Up:
			ref.Interrupted()
			want = spec.Interrupted.String()
		default:
			return "", "", true, nil
		}
		var (
			p *int
			e error
		)
		err = r.blocking(func() {
			if st.kind == mbRecv {
				p, e = m.Recv()
			} else {
				p, e = m.RecvContext(ctx)
			}
		})
		got = errName(e, spec.Received)
		if e == nil || p != nil {
			g, gerr := r.got(p)
			got += " " + g
			err = errors.Join(err, gerr)
		}
		if blocked && st.kind == mbRecvDone {
			want = r.endedWant(got)
		}

	case mbWaitPushable, mbWaitPoppable, mbWaitEmpty, mbWaitFull:
		var blocked bool
		var answer func() bool // the answer of a call that did not sleep
		switch st.kind {
		case mbWaitPushable:
			blocked, answer = ref.SendBlocked(), ref.Pushable
		case mbWaitPoppable:
			blocked, answer = ref.RecvBlocked(), ref.Poppable
		case mbWaitEmpty:
			blocked = ref.EmptyBlocked()
		case mbWaitFull:
			blocked = ref.FullBlocked()
		}
		switch {
		case !blocked && answer != nil:
			want = fmt.Sprint(answer())
		case !blocked:
			want = "returned"
		case ref.Up:
			ref.Interrupted()
			want = "returned"
			if answer != nil {
				want = "true" // an interrupted Wait says: look again
			}
		default:
			return "", "", true, nil
		}
		err = r.blocking(func() {
			switch st.kind {
			case mbWaitPushable:
				got = fmt.Sprint(m.WaitPushable())
			case mbWaitPoppable:
				got = fmt.Sprint(m.WaitPoppable())
			case mbWaitEmpty:
				m.WaitEmpty()
				got = "returned"
			case mbWaitFull:
				m.WaitFull()
				got = "returned"
			}
		})

	case mbPause:
		got, want = fmt.Sprint(m.Pause()), fmt.Sprint(ref.Pause())
	case mbResume:
		got, want = fmt.Sprint(m.Resume()), fmt.Sprint(ref.Resume())
	case mbCloseWrite:
		got, want = fmt.Sprint(m.CloseWrite()), fmt.Sprint(ref.CloseWrite())
	case mbCloseRead:
		got, want = fmt.Sprint(m.CloseRead()), fmt.Sprint(ref.CloseRead())
	case mbInterrupt:
		// Nothing sleeps in a sequential replay: Interrupt wakes no one,
		// and leaves an interrupt pending if n > 0.
		got, want = fmt.Sprint(m.Interrupt(st.n)), fmt.Sprint(ref.Interrupt(st.n))
	case mbSetCap:
		m.SetCap(st.n)
		ref.SetCap(st.n)
		got, want = "done", "done"
	case mbClear:
		got, want = fmt.Sprint(m.Clear()), fmt.Sprint(ref.Clear())
	case mbDrain:
		var gs []string
		for _, p := range m.Drain() {
			g, gerr := r.got(p)
			gs = append(gs, g)
			err = errors.Join(err, gerr)
		}
		got, want = fmt.Sprint(gs), fmt.Sprint(ref.Drain())
		if len(gs) == 0 {
			got = "[]"
		}
	case mbLen:
		got, want = fmt.Sprint(m.Len()), fmt.Sprint(ref.Len())
	case mbCap:
		got, want = capName(m.Cap()), capName(ref.Cap())
	case mbFlags:
		got, want = m.Flags().String(), ref.Flags().String()
	default:
		panic(fmt.Sprintf("fuzz: unknown mailbox step kind %d", st.kind))
	}
	return got, want, false, err
}

// endedWant returns what a blocking call with an ended context, made
// where the reference says it would sleep, may return, given that it
// returned got: its context's error (Canceled), which leaves a pending
// interrupt pending, or Interrupted, which needs and clears one.
func (r *mbReplay) endedWant(got string) string {
	switch {
	case got == "Canceled":
		return got
	case got == spec.Interrupted.String() && r.ref.Up:
		r.ref.Interrupted()
		return got
	case r.ref.Up:
		return "Canceled or Interrupted"
	}
	return "Canceled"
}

// sameState compares what Len, Cap and Flags report with the reference.
func (r *mbReplay) sameState() error {
	var diffs []string
	if g, w := r.m.Len(), r.ref.Len(); g != w {
		diffs = append(diffs, fmt.Sprintf("Len = %d, want %d", g, w))
	}
	if g, w := r.m.Cap(), r.ref.Cap(); g != w {
		diffs = append(diffs, fmt.Sprintf("Cap = %s, want %s", capName(g), capName(w)))
	}
	if g, w := r.m.Flags(), r.ref.Flags(); g != w {
		diffs = append(diffs, fmt.Sprintf("Flags = %v, want %v", g, w))
	}
	if len(diffs) > 0 {
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}

// replayMailbox runs steps one at a time on m, a fresh mailbox of capacity
// capacity, and on model.MailboxRef, requiring the same result from every
// step and the same Len, Cap and Flags after it; then it drains both.
func replayMailbox(m spec.Mailbox[int], capacity int, steps []mbStep) error {
	r := newMbReplay(m, capacity)
	live, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.live = live
	fail := func(what string, err error) error {
		return fmt.Errorf("%s: %w\n  steps so far:\n%s", what, err, strings.Join(r.log, "\n"))
	}
	// The bug: a new mailbox in the wrong state (not Empty, Readable and
	// Writable; Full at capacity 0; the capacity or boundedness wrong).
	if err := r.sameState(); err != nil {
		return fail("new mailbox", err)
	}
	for i, st := range steps {
		got, want, skip, err := r.step(st)
		line := fmt.Sprintf("    %2d client %d: %s", i, st.client, st)
		if skip {
			r.log = append(r.log, line+" (skipped: would sleep)")
			continue
		}
		r.log = append(r.log, fmt.Sprintf("%s → %s", line, got))
		// The bug: any result that breaks spec.Mailbox's rules, in their
		// order of precedence: a send to a paused, closed or full
		// mailbox, a receipt from a paused, closed or empty one, an item
		// lost, repeated, reordered or copied, a pending interrupt not
		// set, not cleared or cleared twice, a control operation that
		// misreports whether it changed the state, a Wait that answers
		// wrongly, and a blocking call that sleeps where it must not.
		if err != nil {
			return fail(fmt.Sprintf("step %d (client %d %s)", i, st.client, st), err)
		}
		if got != want {
			return fail(fmt.Sprintf("step %d (client %d %s)", i, st.client, st), fmt.Errorf("got %s, want %s", got, want))
		}
		// The bug: state that drifts from the results: a count, capacity
		// or flag that an operation changed wrongly or not at all.
		if err := r.sameState(); err != nil {
			return fail(fmt.Sprintf("after step %d (client %d %s)", i, st.client, st), err)
		}
	}
	// The bug: items left in the mailbox, missing from it, or in the
	// wrong order once the program is over; a drained mailbox that still
	// counts items.
	got, want, _, err := r.step(mbStep{kind: mbDrain})
	if err == nil && got != want {
		err = fmt.Errorf("got %s, want %s", got, want)
	}
	if err == nil {
		err = r.sameState()
	}
	if err != nil {
		return fail("final drain", err)
	}
	return nil
}

// checkMailboxSequential replays in on fresh mailboxes from newMailbox in
// two orders: the bytes' order and client by client.
func checkMailboxSequential(newMailbox func(int) spec.Mailbox[int], in mbInput) error {
	if err := replayMailbox(newMailbox(in.capacity), in.capacity, in.steps); err != nil {
		return fmt.Errorf("sequential replay in byte order, capacity %s: %w", capName(in.capacity), err)
	}
	if err := replayMailbox(newMailbox(in.capacity), in.capacity, in.byClient()); err != nil {
		return fmt.Errorf("sequential replay client by client, capacity %s: %w", capName(in.capacity), err)
	}
	return nil
}
