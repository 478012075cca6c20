package fuzz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// The mailbox's input format (see doc.go): byte 0 picks the capacity, byte
// 1 the number of clients, and every further byte, up to mbMaxSteps, one
// step: its low six bits an entry of mbTable, its top two bits the client.
const (
	mbMaxClients = 4
	// mbMaxSteps caps the sequential program; bytes past it are ignored.
	mbMaxSteps = 64
	// mbMaxPerClient caps each client's part of the concurrent program,
	// so that its history stays small enough for porcupine to decide in
	// milliseconds (the mailbox model is nondeterministic).
	mbMaxPerClient = 5
	// mbSleepLimit is how long the sequential replay lets a blocking call
	// run that the reference says returns at once. It is no timing
	// assertion: the call either returns at once or sleeps for good, and
	// the limit only turns the second into a report instead of a hang.
	mbSleepLimit = 5 * time.Second
)

// mbCaps are the capacities byte 0 picks from.
var mbCaps = [...]int{0, 1, 2, 3, spec.Unbounded}

// An mbKind is an operation of spec.Mailbox, as the fuzz input names it.
type mbKind uint8

const (
	mbTrySend mbKind = iota
	mbSend
	mbSendCtx  // SendContext with a live context
	mbSendDone // SendContext with a context that has already ended
	mbTryRecv
	mbRecv
	mbRecvCtx
	mbRecvDone
	mbPause
	mbResume
	mbCloseWrite
	mbCloseRead
	mbInterrupt // n
	mbSetCap    // n
	mbClear
	mbDrain
	mbLen
	mbCap
	mbFlags
	mbWaitPushable
	mbWaitPoppable
	mbWaitEmpty
	mbWaitFull
	mbTrySendMany // n items, distinct, or with a nil among them
	mbTryRecvMany // into a buffer of n
	mbKinds
)

// mbKindNames name each kind in messages, and the mailboxtest.Ops
// operation that runs it in the concurrent program.
var mbKindNames = [mbKinds]struct{ name, campaign string }{
	{"trySend", "trySend"}, {"send", "send"}, {"sendContext", "sendContext"}, {"sendContext(ended)", "sendContext"},
	{"tryRecv", "tryRecv"}, {"recv", "recv"}, {"recvContext", "recvContext"}, {"recvContext(ended)", "recvContext"},
	{"pause", "pause"}, {"resume", "resume"}, {"closeWrite", "closeWrite"}, {"closeRead", "closeRead"},
	{"interrupt", "interrupt"}, {"setCap", "setCap"}, {"clear", "clear"}, {"drain", "drain"},
	{"len", "len"}, {"cap", "cap"}, {"flags", "flags"},
	{"waitPushable", "waitPushable"}, {"waitPoppable", "waitPoppable"}, {"waitEmpty", "waitEmpty"}, {"waitFull", "waitFull"},
	{"trySendMany", "trySendMany"}, {"tryRecvMany", "tryRecvMany"},
}

// An mbEntry is what one step byte's low six bits select: an operation,
// its parameter, and for a send whether it sends nil.
type mbEntry struct {
	kind  mbKind
	n     int  // Interrupt's n, SetCap's capacity, TrySendMany's items, TryRecvMany's room
	isNil bool // a send of nil; for TrySendMany, a nil in the middle of the batch
}

// mbTable maps the low six bits of a step byte to an operation: every
// operation of spec.Mailbox, the common ones several times. Each kind
// that was in the table before the batch forms keeps the index of its
// first entry (the batch forms took over repeats of TrySend, TryRecv,
// Drain and Len), so that the seed corpus files, which use those first
// indices, still mean what their names say.
var mbTable = func() [64]mbEntry {
	var t [64]mbEntry
	i := 0
	add := func(e mbEntry, times int) {
		for range times {
			t[i] = e
			i++
		}
	}
	add(mbEntry{kind: mbTrySend}, 4)
	for _, n := range []int{2, 3, 5} { // 5: more than capacities 0 to 3 have room for
		add(mbEntry{kind: mbTrySendMany, n: n}, 1)
	}
	add(mbEntry{kind: mbTrySendMany, n: 3, isNil: true}, 1)
	add(mbEntry{kind: mbTrySend, isNil: true}, 1)
	add(mbEntry{kind: mbSend}, 4)
	add(mbEntry{kind: mbSend, isNil: true}, 1)
	add(mbEntry{kind: mbSendCtx}, 2)
	add(mbEntry{kind: mbSendDone}, 1)
	add(mbEntry{kind: mbTryRecv}, 4)
	for _, n := range []int{1, 2, 3, 5} {
		add(mbEntry{kind: mbTryRecvMany, n: n}, 1)
	}
	add(mbEntry{kind: mbRecv}, 4)
	add(mbEntry{kind: mbRecvCtx}, 2)
	add(mbEntry{kind: mbRecvDone}, 1)
	add(mbEntry{kind: mbPause}, 3)
	add(mbEntry{kind: mbResume}, 4)
	add(mbEntry{kind: mbCloseWrite}, 1)
	add(mbEntry{kind: mbCloseRead}, 1)
	add(mbEntry{kind: mbInterrupt, n: 0}, 1)
	add(mbEntry{kind: mbInterrupt, n: 1}, 2)
	add(mbEntry{kind: mbInterrupt, n: 2}, 1)
	for _, c := range mbCaps {
		add(mbEntry{kind: mbSetCap, n: c}, 1)
	}
	add(mbEntry{kind: mbClear}, 1)
	add(mbEntry{kind: mbDrain}, 1)
	add(mbEntry{kind: mbTrySendMany, n: 0}, 1) // an empty batch
	add(mbEntry{kind: mbLen}, 1)
	add(mbEntry{kind: mbTryRecvMany, n: 0}, 1) // an empty buffer
	add(mbEntry{kind: mbCap}, 1)
	add(mbEntry{kind: mbFlags}, 2)
	add(mbEntry{kind: mbWaitPushable}, 2)
	add(mbEntry{kind: mbWaitPoppable}, 2)
	add(mbEntry{kind: mbWaitEmpty}, 1)
	add(mbEntry{kind: mbWaitFull}, 1)
	if i != len(t) {
		panic(fmt.Sprintf("fuzz: mbTable has %d entries, want %d", i, len(t)))
	}
	return t
}()

// An mbStep is one operation of a decoded mailbox program.
type mbStep struct {
	client int
	kind   mbKind
	value  int   // a send's item: distinct, 1, 2, ... in byte order; 0 for nil
	values []int // TrySendMany's items, numbered with the sends' items; 0 for nil
	n      int   // Interrupt's n, SetCap's capacity, TryRecvMany's room
}

func (st mbStep) String() string {
	name := mbKindNames[st.kind].name
	switch st.kind {
	case mbTrySend, mbSend, mbSendCtx, mbSendDone:
		if st.value == 0 {
			return name + "(nil)"
		}
		return fmt.Sprintf("%s(%d)", name, st.value)
	case mbInterrupt, mbTryRecvMany:
		return fmt.Sprintf("%s(%d)", name, st.n)
	case mbTrySendMany:
		return fmt.Sprintf("%s(%v)", name, st.values)
	case mbSetCap:
		return fmt.Sprintf("%s(%s)", name, capName(st.n))
	}
	return name + "()"
}

func capName(c int) string {
	if c == spec.Unbounded {
		return "∞"
	}
	return fmt.Sprint(c)
}

// An mbInput is a decoded mailbox fuzz input.
type mbInput struct {
	capacity int
	clients  int
	steps    []mbStep // in byte order: one interleaving of the clients' programs
}

// decodeMailbox turns data into a mailbox program, deterministically;
// every byte string is a valid input.
func decodeMailbox(data []byte) mbInput {
	in := mbInput{capacity: mbCaps[0], clients: 1}
	if len(data) > 0 {
		in.capacity = mbCaps[int(data[0])%len(mbCaps)]
	}
	if len(data) > 1 {
		in.clients = 1 + int(data[1])%mbMaxClients
	}
	if len(data) > 2 {
		body := data[2:]
		if len(body) > mbMaxSteps {
			body = body[:mbMaxSteps]
		}
		next := 0
		for _, b := range body {
			e := mbTable[b&63]
			st := mbStep{client: int(b>>6) % in.clients, kind: e.kind, n: e.n}
			switch e.kind {
			case mbTrySend, mbSend, mbSendCtx, mbSendDone:
				if !e.isNil {
					next++
					st.value = next
				}
			case mbTrySendMany:
				st.values = make([]int, e.n)
				for i := range st.values {
					if e.isNil && i == e.n/2 {
						continue // nil
					}
					next++
					st.values[i] = next
				}
			}
			in.steps = append(in.steps, st)
		}
	}
	return in
}

// byClient returns the steps client by client, each client's in its own
// order.
func (in mbInput) byClient() []mbStep {
	out := make([]mbStep, 0, len(in.steps))
	for c := range in.clients {
		for _, st := range in.steps {
			if st.client == c {
				out = append(out, st)
			}
		}
	}
	return out
}

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

// mailboxProgram builds the concurrent program of in: client c runs its
// first mbMaxPerClient steps in order, as mailboxtest.Ops steps.
func mailboxProgram(in mbInput) linearize.Program {
	ops := mailboxtest.Ops()
	p := make(linearize.Program, in.clients)
	for c := range p {
		p[c] = []linearize.Step{} // a client may have no steps
	}
	for _, st := range in.steps {
		if len(p[st.client]) == mbMaxPerClient {
			continue
		}
		var mi model.MailboxInput
		switch st.kind {
		case mbTrySend:
			mi = model.MailboxInput{Op: model.MbTrySend, Value: st.value}
		case mbSend, mbSendCtx, mbSendDone:
			mi = model.MailboxInput{Op: model.MbSend, Value: st.value}
		case mbTryRecv:
			mi = model.MailboxInput{Op: model.MbTryRecv}
		case mbRecv, mbRecvCtx, mbRecvDone:
			mi = model.MailboxInput{Op: model.MbRecv}
		case mbPause:
			mi = model.MailboxInput{Op: model.MbPause}
		case mbResume:
			mi = model.MailboxInput{Op: model.MbResume}
		case mbCloseWrite:
			mi = model.MailboxInput{Op: model.MbCloseWrite}
		case mbCloseRead:
			mi = model.MailboxInput{Op: model.MbCloseRead}
		case mbInterrupt:
			mi = model.MailboxInput{Op: model.MbInterrupt, N: st.n}
		case mbSetCap:
			mi = model.MailboxInput{Op: model.MbSetCap, N: st.n}
		case mbClear:
			mi = model.MailboxInput{Op: model.MbClear}
		case mbDrain:
			mi = model.MailboxInput{Op: model.MbDrain}
		case mbLen:
			mi = model.MailboxInput{Op: model.MbLen}
		case mbCap:
			mi = model.MailboxInput{Op: model.MbCap}
		case mbFlags:
			mi = model.MailboxInput{Op: model.MbFlags}
		case mbWaitPushable:
			mi = model.MailboxInput{Op: model.MbWaitPushable}
		case mbWaitPoppable:
			mi = model.MailboxInput{Op: model.MbWaitPoppable}
		case mbWaitEmpty:
			mi = model.MailboxInput{Op: model.MbWaitEmpty}
		case mbWaitFull:
			mi = model.MailboxInput{Op: model.MbWaitFull}
		case mbTrySendMany:
			mi = model.MailboxInput{Op: model.MbTrySendMany, Values: st.values}
		case mbTryRecvMany:
			mi = model.MailboxInput{Op: model.MbTryRecvMany, N: st.n}
		}
		p[st.client] = append(p[st.client], linearize.Step{Op: opIndex(ops, mbKindNames[st.kind].campaign), Input: mi})
	}
	return p
}

// checkMailboxConcurrent runs in's program once, one goroutine per client,
// on a fresh mailbox from newMailbox, through mailboxtest.Scenario
// (release, liveness check, final Len, Flags and Drain), and checks the
// history for linearizability.
func checkMailboxConcurrent(newMailbox func(int) spec.Mailbox[int], in mbInput, chaosSeed uint64) error {
	sc := mailboxtest.Scenario("mailbox-cap"+capName(in.capacity), in.capacity, newMailbox)
	p := mailboxProgram(in)
	res := sc.RunProgram(p, chaosSeed)
	// The bug: any concurrent history of the mailbox's operations that no
	// sequential mailbox obeying spec.Mailbox could produce; a call that
	// sleeps though it could proceed (a lost wake-up) or never returns; a
	// panic inside the mailbox.
	if !res.Failed() {
		return nil
	}
	return fmt.Errorf("concurrent run (capacity %s) failed: %w", capName(in.capacity), sc.Failure(p, res, chaosSeed, 0))
}

// checkMailbox is the whole test of one input: sequential, then
// concurrent.
func checkMailbox(newMailbox func(int) spec.Mailbox[int], data []byte) error {
	in := decodeMailbox(data)
	if err := checkMailboxSequential(newMailbox, in); err != nil {
		return err
	}
	return checkMailboxConcurrent(newMailbox, in, chaosSeed(data))
}

// mbBytes builds an input from a capacity index, a client count and
// steps, each step a client and an mbTable index; the seeds use it to stay
// readable.
func mbBytes(capIndex, clients int, steps ...[2]int) []byte {
	data := []byte{byte(capIndex), byte(clients - 1)}
	for _, st := range steps {
		data = append(data, byte(st[0]<<6|st[1]))
	}
	return data
}

// mbAt returns the first mbTable index holding e, for seeds.
func mbAt(e mbEntry) int {
	i := slices.Index(mbTable[:], e)
	if i < 0 {
		panic(fmt.Sprintf("fuzz: no mbTable entry %+v", e))
	}
	return i
}

func FuzzMailbox(f *testing.F) {
	var (
		trySend     = mbAt(mbEntry{kind: mbTrySend})
		sendNil     = mbAt(mbEntry{kind: mbTrySend, isNil: true})
		send        = mbAt(mbEntry{kind: mbSend})
		sendDone    = mbAt(mbEntry{kind: mbSendDone})
		tryRecv     = mbAt(mbEntry{kind: mbTryRecv})
		recv        = mbAt(mbEntry{kind: mbRecv})
		recvDone    = mbAt(mbEntry{kind: mbRecvDone})
		pause       = mbAt(mbEntry{kind: mbPause})
		resume      = mbAt(mbEntry{kind: mbResume})
		closeW      = mbAt(mbEntry{kind: mbCloseWrite})
		closeR      = mbAt(mbEntry{kind: mbCloseRead})
		intr1       = mbAt(mbEntry{kind: mbInterrupt, n: 1})
		setCap0     = mbAt(mbEntry{kind: mbSetCap, n: 0})
		setCapInf   = mbAt(mbEntry{kind: mbSetCap, n: spec.Unbounded})
		drain       = mbAt(mbEntry{kind: mbDrain})
		clr         = mbAt(mbEntry{kind: mbClear})
		flags       = mbAt(mbEntry{kind: mbFlags})
		waitPush    = mbAt(mbEntry{kind: mbWaitPushable})
		waitPop     = mbAt(mbEntry{kind: mbWaitPoppable})
		waitEmpty   = mbAt(mbEntry{kind: mbWaitEmpty})
		waitFull    = mbAt(mbEntry{kind: mbWaitFull})
		sendMany0   = mbAt(mbEntry{kind: mbTrySendMany, n: 0})
		sendMany2   = mbAt(mbEntry{kind: mbTrySendMany, n: 2})
		sendMany5   = mbAt(mbEntry{kind: mbTrySendMany, n: 5})
		sendNilMany = mbAt(mbEntry{kind: mbTrySendMany, n: 3, isNil: true})
		recvMany0   = mbAt(mbEntry{kind: mbTryRecvMany, n: 0})
		recvMany1   = mbAt(mbEntry{kind: mbTryRecvMany, n: 1})
		recvMany5   = mbAt(mbEntry{kind: mbTryRecvMany, n: 5})
	)
	f.Add([]byte{})
	// Capacity 1, one client: fill, overfill, pause, interrupt a blocked
	// send, resume, receive, close for writing, drain out.
	f.Add(mbBytes(1, 1, [2]int{0, trySend}, [2]int{0, trySend}, [2]int{0, sendNil}, [2]int{0, pause},
		[2]int{0, tryRecv}, [2]int{0, intr1}, [2]int{0, send}, [2]int{0, flags}, [2]int{0, resume},
		[2]int{0, recv}, [2]int{0, closeW}, [2]int{0, recv}, [2]int{0, recv}))
	// Unbounded, two clients: sends, a pending interrupt taken by a Wait,
	// the ended-context forms, close for reading and a drain.
	f.Add(mbBytes(4, 2, [2]int{0, trySend}, [2]int{1, trySend}, [2]int{0, send}, [2]int{1, intr1},
		[2]int{1, waitFull}, [2]int{0, waitEmpty}, [2]int{0, recvDone}, [2]int{1, closeR},
		[2]int{0, sendDone}, [2]int{1, drain}, [2]int{0, waitPop}, [2]int{1, waitPush}))
	// Capacity 0, then room made by SetCap, then cleared; four clients.
	f.Add(mbBytes(0, 4, [2]int{0, trySend}, [2]int{1, setCapInf}, [2]int{2, trySend}, [2]int{3, trySend},
		[2]int{0, setCap0}, [2]int{1, waitFull}, [2]int{2, clr}, [2]int{3, flags}, [2]int{0, recv},
		[2]int{1, send}, [2]int{2, closeW}, [2]int{3, recv}))
	// Capacity 3, one client: a partial batch, a full one, a batch with a
	// nil, empty batches on a full and an empty mailbox, batch receipts of
	// more and fewer than are there, then a pause and a close in front of
	// both forms.
	f.Add(mbBytes(3, 1, [2]int{0, trySend}, [2]int{0, sendMany5}, [2]int{0, sendMany2}, [2]int{0, sendNilMany},
		[2]int{0, sendMany0}, [2]int{0, recvMany1}, [2]int{0, recvMany5}, [2]int{0, recvMany5}, [2]int{0, recvMany0},
		[2]int{0, sendMany0}, [2]int{0, pause}, [2]int{0, sendMany2}, [2]int{0, recvMany5}, [2]int{0, resume},
		[2]int{0, sendMany2}, [2]int{0, closeW}, [2]int{0, sendMany2}, [2]int{0, recvMany5}, [2]int{0, recvMany5}))
	// Capacity 1, four clients: receivers and senders asleep while
	// batches come and go, so that a batch must wake several of them.
	f.Add(mbBytes(1, 4, [2]int{1, recv}, [2]int{2, recv}, [2]int{0, setCapInf}, [2]int{0, sendMany5},
		[2]int{3, send}, [2]int{0, setCap0}, [2]int{3, send}, [2]int{1, send}, [2]int{2, recvMany5},
		[2]int{0, recvMany5}, [2]int{1, recvMany1}, [2]int{2, sendMany2}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkMailbox(mailboxtest.NewMailbox, data); err != nil {
			in := decodeMailbox(data)
			t.Fatalf("input %q (capacity %s, %d clients, %d steps): %v", data, capName(in.capacity), in.clients, len(in.steps), err)
		}
	})
}

// mbBatchSelfChecks are inputs of one client (so that the concurrent run
// is as deterministic as the sequential replay), each exposing one batch
// bug of mailboxtest.Broken (the real mailbox wrapped so that it breaks
// one rule of TrySendMany or TryRecvMany; fuzz/selfcheck_test.go does the
// same for the other operations).
func mbBatchSelfChecks() []struct {
	name       string
	bug        mailboxtest.Bug
	data       []byte
	concurrent bool // the linearizability check must catch it too
} {
	at := func(e mbEntry) [2]int { return [2]int{0, mbAt(e)} }
	var (
		trySend     = at(mbEntry{kind: mbTrySend})
		sendMany2   = at(mbEntry{kind: mbTrySendMany, n: 2})
		sendMany3   = at(mbEntry{kind: mbTrySendMany, n: 3})
		sendNilMany = at(mbEntry{kind: mbTrySendMany, n: 3, isNil: true})
		recvMany2   = at(mbEntry{kind: mbTryRecvMany, n: 2})
		recvMany3   = at(mbEntry{kind: mbTryRecvMany, n: 3})
		length      = at(mbEntry{kind: mbLen})
	)
	return []struct {
		name       string
		bug        mailboxtest.Bug
		data       []byte
		concurrent bool
	}{
		{"nil-prefix", mailboxtest.BatchNilPrefix, mbBytes(4, 1, sendNilMany, length), true},
		{"all-or-nothing", mailboxtest.BatchAllOrNothing, mbBytes(3, 1, trySend, sendMany3), true},
		{"recv-reversed", mailboxtest.BatchReverses, mbBytes(4, 1, sendMany3, recvMany3), true},
		// Under concurrency a batch may move fewer items than it could
		// (spec.Mailbox), so the model accepts a short batch, and only the
		// sequential replay, where a batch alone must move all it may, can
		// tell.
		{"recv-one", mailboxtest.BatchRecvOne, mbBytes(4, 1, sendMany3, recvMany2), false},
		// A copy carries the right value, so only the sequential replay,
		// which compares pointers, can tell.
		{"recv-copy", mailboxtest.BatchCopies, mbBytes(4, 1, sendMany2, recvMany2), false},
	}
}

// The bug: batch checks that pass a broken batch: a Nil batch that sent
// its prefix, an all-or-nothing batch, a batch receipt that reverses its
// items, takes fewer than it may, or hands out copies. Each must fail the
// sequential replay, and (but for the short batch and the copy) the
// linearizability check.
func TestChecksCatchBrokenBatches(t *testing.T) {
	for _, c := range mbBatchSelfChecks() {
		t.Run(c.name, func(t *testing.T) {
			mustCatchMailbox(t, c.name, c.data, c.concurrent, brokenMailboxes(c.bug))
		})
	}
}

// The control: the real mailbox passes the same inputs, so that the
// failures above are the bugs' doing and not the inputs'.
func TestChecksPassRealBatches(t *testing.T) {
	for _, c := range mbBatchSelfChecks() {
		if err := checkMailbox(mailboxtest.NewMailbox, c.data); err != nil {
			t.Errorf("%s input %q: %v", c.name, c.data, err)
		}
	}
}

// The bug: a decoder whose batches are not what the table says (the
// wrong size, a nil missing or one too many, values repeated within a
// batch or shared with another send, which would let a duplicated item
// pass for another), or a concurrent program that runs a batch step as
// another operation or with other items or room.
func TestDecodeMailboxBatches(t *testing.T) {
	data := []byte{4, 3}
	for i := range mbTable {
		data = append(data, byte(i))
	}
	in := decodeMailbox(data[:2+mbMaxSteps])
	seen := map[int]bool{}
	batches := 0
	for i, st := range in.steps {
		e := mbTable[data[2+i]&63]
		if st.kind != e.kind {
			t.Fatalf("step %d: kind %s, want %s", i, mbKindNames[st.kind].name, mbKindNames[e.kind].name)
		}
		vals := st.values
		if st.value != 0 {
			vals = append(vals, st.value)
		}
		if st.kind == mbTrySendMany {
			batches++
			nils := 0
			for _, v := range st.values {
				if v == 0 {
					nils++
				}
			}
			if len(st.values) != e.n || nils != map[bool]int{true: 1}[e.isNil] {
				t.Errorf("step %d: %s from entry %+v", i, st, e)
			}
		} else if st.values != nil {
			t.Errorf("step %d: %s carries batch values %v", i, st, st.values)
		}
		for _, v := range vals {
			if v != 0 && (seen[v] || v < 0) {
				t.Errorf("step %d: value %d sent twice or negative", i, v)
			}
			seen[v] = true
		}
	}
	if batches == 0 {
		t.Fatal("no batch send decoded from a walk through the whole table")
	}
	ops := mailboxtest.Ops()
	for _, steps := range mailboxProgram(in) {
		for _, ps := range steps {
			mi := ps.Input.(model.MailboxInput)
			name := ops[ps.Op].Name
			switch {
			case mi.Op == model.MbTrySendMany && name != "trySendMany",
				mi.Op == model.MbTryRecvMany && name != "tryRecvMany",
				name == "trySendMany" && mi.Op != model.MbTrySendMany,
				name == "tryRecvMany" && mi.Op != model.MbTryRecvMany:
				t.Errorf("program step %s with input %s", name, model.DescribeMailboxOp(mi, nil))
			}
		}
	}
	// One batch of each kind, mapped one by one.
	for _, e := range mbTable {
		if e.kind != mbTrySendMany && e.kind != mbTryRecvMany {
			continue
		}
		in := decodeMailbox(mbBytes(4, 1, [2]int{0, mbAt(e)}))
		p := mailboxProgram(in)
		st, ps := in.steps[0], p[0][0]
		mi := ps.Input.(model.MailboxInput)
		want := model.MailboxInput{Op: model.MbTryRecvMany, N: e.n}
		if e.kind == mbTrySendMany {
			want = model.MailboxInput{Op: model.MbTrySendMany, Values: st.values}
		}
		if ops[ps.Op].Name != mbKindNames[e.kind].campaign || mi.Op != want.Op || mi.N != want.N || !slices.Equal(mi.Values, want.Values) {
			t.Errorf("entry %+v runs as %s %s, want %s %s", e, ops[ps.Op].Name, model.DescribeMailboxOp(mi, nil),
				mbKindNames[e.kind].campaign, model.DescribeMailboxOp(want, nil))
		}
	}
}
