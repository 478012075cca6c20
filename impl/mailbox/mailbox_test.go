package mailbox_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
	"golang.org/x/sys/unix"
	"pgregory.net/rapid"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

func ptr(v int) *int { return &v }

func val(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// rapid state machine: every sequence of operations, on a mailbox that
// nobody else touches, agrees with the reference at every step. Blocking
// calls are made only when the reference says they will not sleep (or a
// pending interrupt stops them). The batch forms send 0 to 6 items (now
// and then one of them nil) and receive into buffers of 0 to 6.
//
// The bug, for the batch forms: a rule applied out of order (a batch
// holding nil refused for another reason, or partly sent), a partial
// send of the wrong length, a receipt of the wrong items or count, or one
// that writes past what it received; and any drift of Len, Cap or Flags
// that a batch leaves behind.
func TestStateMachine(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(t *rapid.T) {
		capacity := rapid.SampledFrom([]int{0, 1, 2, 3, 5, mailbox.Unbounded}).Draw(t, "cap")
		sm := &mbMachine{m: mailbox.New[int](capacity), ref: model.NewMailboxRef(capacity)}
		t.Repeat(map[string]func(*rapid.T){
			"TrySend":     sm.TrySend,
			"TryRecv":     sm.TryRecv,
			"TrySendMany": sm.TrySendMany,
			"TryRecvMany": sm.TryRecvMany,
			"Send":        sm.Send,
			"Recv":        sm.Recv,
			"Waits":       sm.Waits,
			"Control":     sm.Control,
			"Take":        sm.Take,
			"":            sm.Check,
		})
	})
}

// mbMachine is the state of TestStateMachine: the mailbox, its reference,
// and the last item value drawn.
type mbMachine struct {
	m    *mailbox.Mailbox[int]
	ref  *model.MailboxRef
	next int
}

// item draws the value of an item to send: a fresh one, or now and then
// 0, which stands for nil.
func (sm *mbMachine) item(t *rapid.T) int {
	if rapid.IntRange(0, 20).Draw(t, "nil?") == 0 {
		return 0
	}
	sm.next++
	return sm.next
}

// send is the pointer sent for item value v: nil for 0.
func send(v int) *int {
	if v == 0 {
		return nil
	}
	return ptr(v)
}

func (sm *mbMachine) TrySend(t *rapid.T) {
	v := sm.item(t)
	if got, want := sm.m.TrySend(send(v)), sm.ref.TrySend(v); got != want {
		t.Fatalf("TrySend(%d) = %v, want %v", v, got, want)
	}
}

func (sm *mbMachine) TryRecv(t *rapid.T) {
	got, res := sm.m.TryRecv()
	want, wres := sm.ref.TryRecv()
	if res != wres || val(got) != want {
		t.Fatalf("TryRecv = %d %v, want %d %v", val(got), res, want, wres)
	}
}

func (sm *mbMachine) TrySendMany(t *rapid.T) {
	k := rapid.IntRange(0, 6).Draw(t, "k")
	vs := make([]int, k)
	ps := make([]*int, k)
	for i := range vs {
		vs[i] = sm.item(t)
		ps[i] = send(vs[i])
	}
	n, res := sm.m.TrySendMany(ps)
	wn, wres := sm.ref.TrySendMany(vs)
	if n != wn || res != wres {
		t.Fatalf("TrySendMany(%v) = %d %v, want %d %v", vs, n, res, wn, wres)
	}
}

func (sm *mbMachine) TryRecvMany(t *rapid.T) {
	dst := make([]*int, rapid.IntRange(0, 6).Draw(t, "room"))
	n, res := sm.m.TryRecvMany(dst)
	want, wres := sm.ref.TryRecvMany(len(dst))
	got := make([]int, 0, n)
	for _, p := range dst[:min(max(n, 0), len(dst))] {
		got = append(got, val(p))
	}
	if res != wres || n != len(want) || !slices.Equal(got, want) {
		t.Fatalf("TryRecvMany(room %d) = %d %v %v, want %d %v %v", len(dst), n, res, got, len(want), wres, want)
	}
	for i, p := range dst[n:] {
		if p != nil {
			t.Fatalf("TryRecvMany(room %d) received %d and wrote dst[%d] = %d past them", len(dst), n, n+i, *p)
		}
	}
}

func (sm *mbMachine) Send(t *rapid.T) {
	ref := sm.ref
	v := sm.item(t)
	if v != 0 && ref.SendBlocked() && !ref.Up {
		t.Skip("would sleep")
	}
	err := sm.m.Send(send(v))
	var want error
	switch {
	case v == 0:
		want = mailbox.ErrNil
	case ref.SendBlocked():
		ref.Interrupted()
		want = mailbox.ErrInterrupted
	default:
		if ref.TrySend(v) == spec.Unwritable {
			want = mailbox.ErrUnwritable
		}
	}
	if !errors.Is(err, want) || (want == nil) != (err == nil) {
		t.Fatalf("Send(%d) = %v, want %v", v, err, want)
	}
}

func (sm *mbMachine) Recv(t *rapid.T) {
	ref := sm.ref
	if ref.RecvBlocked() && !ref.Up {
		t.Skip("would sleep")
	}
	got, err := sm.m.Recv()
	var want int
	var werr error
	if ref.RecvBlocked() {
		ref.Interrupted()
		werr = mailbox.ErrInterrupted
	} else if v, r := ref.TryRecv(); r == spec.Unreadable {
		werr = mailbox.ErrUnreadable
	} else {
		want = v
	}
	if !errors.Is(err, werr) || (werr == nil) != (err == nil) || val(got) != want {
		t.Fatalf("Recv = %d %v, want %d %v", val(got), err, want, werr)
	}
}

func (sm *mbMachine) Waits(t *rapid.T) {
	m, ref := sm.m, sm.ref
	which := rapid.IntRange(0, 3).Draw(t, "which")
	blocked := []bool{ref.SendBlocked(), ref.RecvBlocked(), ref.EmptyBlocked(), ref.FullBlocked()}[which]
	if blocked && !ref.Up {
		t.Skip("would sleep")
	}
	want := true
	if blocked {
		ref.Interrupted()
	} else if which == 0 {
		want = ref.Pushable()
	} else if which == 1 {
		want = ref.Poppable()
	}
	got := true
	switch which {
	case 0:
		got = m.WaitPushable()
	case 1:
		got = m.WaitPoppable()
	case 2:
		m.WaitEmpty()
	case 3:
		m.WaitFull()
	}
	if got != want {
		t.Fatalf("wait %d = %v, want %v", which, got, want)
	}
}

func (sm *mbMachine) Control(t *rapid.T) {
	m, ref := sm.m, sm.ref
	var got, want bool
	switch rapid.IntRange(0, 9).Draw(t, "which") {
	case 0, 1, 2:
		got, want = m.Pause(), ref.Pause()
	case 3, 4, 5:
		got, want = m.Resume(), ref.Resume()
	case 6:
		got, want = m.CloseWrite(), ref.CloseWrite()
	case 7:
		got, want = m.CloseRead(), ref.CloseRead()
	case 8:
		n := rapid.IntRange(0, 2).Draw(t, "n")
		if w, r := m.Interrupt(n), ref.Interrupt(n); w != r {
			t.Fatalf("Interrupt(%d) woke %d with nobody asleep", n, w)
		}
	case 9:
		n := rapid.SampledFrom([]int{0, 1, 2, 4, mailbox.Unbounded}).Draw(t, "cap")
		m.SetCap(n)
		ref.SetCap(n)
	}
	if got != want {
		t.Fatalf("control op reported %v, want %v", got, want)
	}
}

func (sm *mbMachine) Take(t *rapid.T) {
	if rapid.Bool().Draw(t, "drain") {
		got := sm.m.Drain()
		want := sm.ref.Drain()
		vals := make([]int, len(got))
		for i, p := range got {
			vals[i] = *p
		}
		if !slices.Equal(vals, want) {
			t.Fatalf("Drain = %v, want %v", vals, want)
		}
	} else if got, want := sm.m.Clear(), sm.ref.Clear(); got != want {
		t.Fatalf("Clear = %d, want %d", got, want)
	}
}

// Check is the invariant: Len, Cap and Flags are the reference's.
func (sm *mbMachine) Check(t *rapid.T) {
	m, ref := sm.m, sm.ref
	if m.Len() != ref.Len() || m.Cap() != ref.Cap() || m.Flags() != ref.Flags() {
		t.Fatalf("Len %d Cap %d Flags %v, want %d %d %v", m.Len(), m.Cap(), m.Flags(), ref.Len(), ref.Cap(), ref.Flags())
	}
}

// Bad input gets a clear message: a negative capacity is a programmer
// error, and the panic says what to use instead.
func TestNegativeCapacityPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"New":    func() { mailbox.New[int](-1) },
		"SetCap": func() { mailbox.New[int](1).SetCap(-2) },
	} {
		func() {
			defer func() {
				if s, _ := recover().(string); !strings.Contains(s, "negative") || !strings.Contains(s, "Unbounded") {
					t.Errorf("%s with a negative capacity: panic %q, want one naming the problem and the fix", name, s)
				}
			}()
			f()
		}()
	}
}

func TestCapacities(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	if f := mailbox.New[int](0).Flags(); f&spec.FlagFull == 0 || f&spec.FlagEmpty == 0 {
		t.Errorf("capacity 0: flags %v, want Full and Empty from birth", f)
	}
	if r := mailbox.New[int](0).TrySend(ptr(1)); r != spec.Full {
		t.Errorf("capacity 0: TrySend = %v, want Full", r)
	}
	u := mailbox.New[int](mailbox.Unbounded)
	if u.Cap() != mailbox.Unbounded || u.Flags()&spec.FlagBounded != 0 {
		t.Errorf("unbounded: Cap %d flags %v", u.Cap(), u.Flags())
	}
	if c := mailbox.New[int](mailbox.MaxCapacity + 1).Cap(); c != mailbox.Unbounded {
		t.Errorf("a capacity above MaxCapacity: Cap = %d, want Unbounded", c)
	}
	for i := range 10000 {
		if u.TrySend(ptr(i)) != spec.Delivered {
			t.Fatalf("unbounded mailbox refused item %d", i)
		}
	}
}

// waitBlocked waits until f has been running (blocked) for a while; it
// fails if f returns first.
func waitBlocked(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
		t.Fatal("a call that should block returned")
	case <-time.After(20 * time.Millisecond):
	}
}

func waitDone(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not return: lost wake-up", what)
	}
}

// Blocked calls wake when the state frees them: an item for Recv, room
// for Send, Resume for both, and closes with the right errors.
func TestBlockingWakes(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	m := mailbox.New[int](1)
	done := make(chan struct{})
	var got *int
	go func() { got, _ = m.Recv(); close(done) }()
	waitBlocked(t, done)
	m.Send(ptr(7))
	waitDone(t, done, "Recv after Send")
	if val(got) != 7 {
		t.Fatalf("Recv = %d, want 7", val(got))
	}

	m.Send(ptr(1)) // full now
	done = make(chan struct{})
	var err error
	go func() { err = m.Send(ptr(2)); close(done) }()
	waitBlocked(t, done)
	m.TryRecv()
	waitDone(t, done, "Send after a receipt")
	if err != nil {
		t.Fatal(err)
	}

	m.Clear()
	m.Pause()
	done = make(chan struct{})
	go func() { err = m.Send(ptr(3)); close(done) }()
	waitBlocked(t, done)
	m.Resume()
	waitDone(t, done, "Send after Resume")

	done = make(chan struct{})
	go func() { err = m.Send(ptr(4)); close(done) }() // full again
	waitBlocked(t, done)
	m.CloseWrite()
	waitDone(t, done, "Send after CloseWrite")
	if !errors.Is(err, mailbox.ErrUnwritable) {
		t.Fatalf("Send after CloseWrite: %v, want ErrUnwritable", err)
	}
	if v, err := m.Recv(); val(v) != 3 || err != nil {
		t.Fatalf("Recv after CloseWrite = %d %v, want the queued 3", val(v), err)
	}
	if _, err := m.Recv(); !errors.Is(err, mailbox.ErrUnreadable) {
		t.Fatalf("Recv on a drained, write-closed mailbox: %v, want ErrUnreadable", err)
	}
}

// Interrupt(n) wakes at most n sleepers, reports how many, and leaves one
// interrupt pending when it wakes fewer than n.
func TestInterrupt(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	m := mailbox.New[int](1)
	const sleepers = 4
	errs := make(chan error, sleepers)
	for range sleepers {
		go func() { _, err := m.Recv(); errs <- err }()
	}
	time.Sleep(30 * time.Millisecond)
	if n := m.Interrupt(3); n != 3 {
		t.Fatalf("Interrupt(3) with %d asleep woke %d", sleepers, n)
	}
	for range 3 {
		if err := <-errs; !errors.Is(err, mailbox.ErrInterrupted) {
			t.Fatalf("woken Recv returned %v, want ErrInterrupted", err)
		}
	}
	select {
	case err := <-errs:
		t.Fatalf("a fourth sleeper returned (%v) though Interrupt(3) woke three", err)
	case <-time.After(20 * time.Millisecond):
	}
	if m.Flags()&spec.FlagInterrupt != 0 {
		t.Fatal("an interrupt is pending though Interrupt woke as many as asked")
	}
	if n := m.Interrupt(2); n != 1 {
		t.Fatalf("Interrupt(2) with one asleep woke %d", n)
	}
	<-errs
	if m.Flags()&spec.FlagInterrupt == 0 {
		t.Fatal("Interrupt woke fewer than asked and left nothing pending")
	}
	if _, err := m.Recv(); !errors.Is(err, mailbox.ErrInterrupted) {
		t.Fatalf("Recv with an interrupt pending: %v, want ErrInterrupted", err)
	}
	if m.Flags()&spec.FlagInterrupt != 0 {
		t.Fatal("the pending interrupt was not cleared by the call it stopped")
	}
	if n := m.Interrupt(0); n != 0 || m.Flags()&spec.FlagInterrupt != 0 {
		t.Fatal("Interrupt(0) did something")
	}
}

// A context that ends while a call sleeps ends the call, with the
// context's error, and leaves nothing behind.
func TestContext(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	m := mailbox.New[int](0)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := m.SendContext(ctx, ptr(1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendContext on a full mailbox: %v, want the deadline", err)
	}
	if _, err := m.RecvContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RecvContext on an empty mailbox: %v, want the deadline", err)
	}
	m.SetCap(1)
	if err := m.SendContext(ctx, ptr(1)); err != nil {
		t.Fatalf("SendContext with room but an ended context: %v; a call that need not wait succeeds", err)
	}
}

// All receives until the mailbox is unreadable.
func TestAll(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	m := mailbox.New[int](2)
	go func() {
		for i := range 10 {
			m.Send(ptr(i))
		}
		m.CloseWrite()
	}()
	var got []int
	for v := range m.All() {
		got = append(got, *v)
	}
	if !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Fatalf("All = %v", got)
	}
}

// The void mailbox is a gate: Wait calls sleep while it is paused, answer
// false once it is closed, and the rest return at once.
func TestVoid(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	v := mailbox.NewVoid()
	if f := v.Flags(); f != spec.FlagEmpty|spec.FlagFull|spec.FlagReadable|spec.FlagWritable|spec.FlagBounded {
		t.Fatalf("new void mailbox: flags %v", f)
	}
	if !v.WaitPushable() || !v.WaitPoppable() {
		t.Fatal("an open, running void mailbox must not hold anyone")
	}
	v.WaitEmpty()
	v.WaitFull()
	v.Pause()
	done := make(chan bool)
	go func() { done <- v.WaitPoppable() }()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("WaitPoppable passed a paused gate")
	default:
	}
	v.Resume()
	if !<-done {
		t.Fatal("WaitPoppable after Resume reported false")
	}
	v.Pause()
	go func() { done <- v.WaitPushable() }()
	time.Sleep(20 * time.Millisecond)
	if v.Interrupt(5) != 1 || !<-done {
		t.Fatal("Interrupt did not release the one waiter with true")
	}
	v.Resume()
	v.CloseWrite()
	if v.WaitPushable() || v.WaitPoppable() {
		t.Fatal("a closed void mailbox still lets waiters through")
	}
}

func cpuTime(t *testing.T) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A call blocked for a second costs the process essentially no CPU: it is
// parked, not spinning. A busy-waiting Recv would burn about a second.
func TestBlockedCallsCostNoCPU(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	empty, full := mailbox.New[int](1), mailbox.New[int](0)
	var wg sync.WaitGroup
	recvDone, sendDone := make(chan error, 1), make(chan error, 1)
	wg.Go(func() { _, err := empty.Recv(); recvDone <- err })
	wg.Go(func() { sendDone <- full.Send(ptr(1)) })
	time.Sleep(50 * time.Millisecond) // let them go to sleep
	before := cpuTime(t)
	time.Sleep(time.Second)
	used := cpuTime(t) - before
	if len(recvDone)+len(sendDone) != 0 {
		t.Fatal("a call that should be blocked returned")
	}
	empty.CloseRead()
	full.CloseWrite()
	wg.Wait()
	if !errors.Is(<-recvDone, mailbox.ErrUnreadable) || !errors.Is(<-sendDone, mailbox.ErrUnwritable) {
		t.Fatal("closing did not end the blocked calls with the closed errors")
	}
	t.Logf("CPU used by the process during one second with a blocked Recv and Send: %v", used)
	if used > 20*time.Millisecond {
		t.Fatalf("blocked calls used %v of CPU in one second; a parked call uses none", used)
	}
}

// A nil context is not a context: SendContext and RecvContext panic with a
// message naming the fix, where they used to take nil for a context that
// never ends and so hid the mistake until a cancellation did not come.
// Send and Recv, which have no context, still work.
func TestNilContextPanics(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	m := mailbox.New[int](1)
	for name, f := range map[string]func(){
		"SendContext": func() { m.SendContext(nil, new(int)) },
		"RecvContext": func() { m.RecvContext(nil) },
	} {
		func() {
			defer func() {
				if s, _ := recover().(string); !strings.Contains(s, "nil context") || !strings.Contains(s, "context.Background()") {
					t.Errorf("%s(nil): panic %q, want one naming the problem and the fix", name, s)
				}
			}()
			f()
		}()
	}
	if m.Len() != 0 {
		t.Fatalf("Len %d after SendContext(nil): it sent before it panicked", m.Len())
	}
	v := 7
	if err := m.Send(&v); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Recv(); err != nil || got != &v {
		t.Fatalf("Recv = %v, %v, want the item sent", got, err)
	}
}

// Send and Recv that need not wait allocate nothing: catches an allocation
// added to the path that does not wait, such as a context made per call
// for Send's and Recv's lack of one.
func TestSendRecvAllocateNothing(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	m := mailbox.New[int](mailbox.Unbounded)
	v := 1
	if n := testing.AllocsPerRun(1000, func() {
		if err := m.Send(&v); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Recv(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Send and Recv allocate %v times per pair, want 0", n)
	}
}

// MaxCapacity's doc comment states its value, for go doc, which showed
// only "capAll - 1": catches a change of the constant that leaves the doc
// stating the old number, and a MaxCapacity that is not a bounded
// capacity (the largest one the capacity field holds).
func TestMaxCapacityIsDocumented(t *testing.T) {
	if mailbox.MaxCapacity != 134_217_726 {
		t.Errorf("MaxCapacity = %d, and its doc comment says 134,217,726", mailbox.MaxCapacity)
	}
	m := mailbox.New[int](mailbox.MaxCapacity)
	if m.Cap() != mailbox.MaxCapacity || m.Flags()&mailbox.FlagBounded == 0 {
		t.Errorf("New(MaxCapacity): Cap %d flags %v, want a bounded mailbox of capacity MaxCapacity", m.Cap(), m.Flags())
	}
}
