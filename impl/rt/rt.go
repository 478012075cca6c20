// Package rt provides runtimes: one continuation run step by step on a
// goroutine of its own, or on an OS thread of its own, that can be halted,
// frozen, thawed, interrupted, canceled, ejected from, linked to others
// and signalled. It is the Go form of the seed's detached threads; the
// rules are in spec.Runtime, and the package name keeps clear of Go's own
// runtime.
//
//	r, err := rt.Spawn(c)             // returns once the runtime has booted
//	r.Freeze()                        // stops between two steps...
//	r.Thaw()                          // ...and goes on
//	r.Halt()                          // stops for good at the next step boundary
//	err = r.Join()                    // nil, or what went wrong
//
// # Steps and the cooperative point
//
// A runtime runs one step of its continuation at a time and looks at its
// flags between two steps: that is where Halt, Freeze and Cancel take
// effect. The hot loop reads one atomic word per step and takes no lock.
// Each step gets a context that Halt, Freeze, Interrupt and Cancel end, so
// that a step asleep in a context-aware wait (a mailbox's RecvContext, for
// instance) returns promptly; that is what the seed achieved by signalling
// the thread out of its futex wait.
//
// # Failure
//
// A panic in a step is caught: it becomes the runtime's error, with the
// value and the stack (spec.ErrPanicked), the runtime halts, and its
// teardown halts every runtime linked to it, each of which then reports
// spec.ErrLinkedFailure wrapping the cause, and so on down a chain of
// links. The process lives on.
//
// # OS threads
//
// With OSThread (or PinCPU, or Name on an OS thread) the runtime's goroutine
// is locked to an OS thread for its whole life and never unlocked, so the
// thread ends with the runtime: after Join no thread it used remains.
package rt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/spec"
	"golang.org/x/sys/unix"
)

// Flags of this package's own, beside spec's, not reported by Flags:
// Cancel was called; an Eject waits for the continuation to be handed over;
// an Eject took the continuation.
const (
	canceled = 1 << 15
	ejecting = 1 << 14
	emptied  = 1 << 13
)

// publicFlags masks the flags that Flags reports.
const publicFlags = 1<<13 - 1

// Runtime runs one continuation. Its methods are safe for concurrent use.
type Runtime struct {
	flags atomic.Uint32 // spec.RuntimeFlags, and canceled

	// ctx is the context of the step in progress or the next one. An ended
	// one is replaced before the next step, before the flags are read, so
	// that a control operation that sets a flag and then ends the context
	// is never missed.
	ctx atomic.Pointer[stepCtx]

	// wake carries a token to a runtime asleep while frozen.
	wake chan struct{}
	// done is closed once the runtime is Dead.
	done chan struct{}

	mu     sync.Mutex
	cond   sync.Cond // on mu: Running went off, a hand-over, or teardown
	c      *cont.C   // touched by the loop while Running; by Eject, under mu, while not; nil while idle
	handed *cont.C   // the continuation handed over to an Eject, under mu
	err    error
	links  map[*Runtime]struct{}
	// idleEject tells the Ejects waiting, under mu, that the runtime was
	// idle (no continuation in hand) when it came to hand one over.
	idleEject bool

	// The local event queue (see EventQueue): made on first use, under
	// mu, and closed at teardown; endStep wakes it. runq holds the
	// continuations it handed out that wait for their turn, lent those
	// out of a repeating registration, ready is Wait's buffer: all three
	// the loop's alone. left is what the runtime had not finished when it
	// tore down, set under mu (see Leftovers).
	evq atomic.Pointer[eventq.Queue]
	// sigs is the continuation of the runtime's own signal registration
	// (Signals), which the queue does not count as work; signals holds
	// what its last firing brought. Both the loop's alone.
	sigs      *cont.C
	signals   []os.Signal
	runq      []*cont.C
	sincePoll int // steps since the last poll (see settle)
	lent      map[*cont.C]eventq.ID
	ready     []eventq.Ready
	left      []*cont.C

	name string
	opts options
}

var _ spec.Runtime = (*Runtime)(nil)

// An Option configures Spawn.
type Option func(*options)

type options struct {
	startFrozen, skipPolling, denyCancels, osThread bool
	signals                                         []os.Signal
	cpus                                            []int
	name                                            string
	links                                           []*Runtime
}

// StartFrozen boots the runtime frozen: it runs nothing until thawed.
func StartFrozen() Option { return func(o *options) { o.startFrozen = true } }

// SkipPolling turns Polling off: the runtime will not poll an event queue.
func SkipPolling() Option { return func(o *options) { o.skipPolling = true } }

// Signals has the runtime receive the process signals sigs
// (DefaultSignals if none) in its local event queue and apply each one's
// default action (see Signal): SIGTERM and SIGQUIT halt it, SIGCONT
// thaws it, the others are ignored. The signals arrive through os/signal,
// so while any runtime receives one, it no longer has its own default
// effect on the process (SIGTERM no longer ends it); the runtime stops
// receiving them when it tears down. A frozen runtime still receives
// them, so that SIGCONT can thaw it. It needs Polling: Spawn fails with
// eventq.ErrNoQueue if SkipPolling is given too.
func Signals(sigs ...os.Signal) Option {
	return func(o *options) {
		if len(sigs) == 0 {
			sigs = DefaultSignals
		}
		o.signals = append(o.signals, sigs...)
	}
}

// DenyCancels turns Cancels off: Cancel refuses.
func DenyCancels() Option { return func(o *options) { o.denyCancels = true } }

// OSThread runs the runtime on an OS thread of its own, locked to its
// goroutine for its whole life; the thread ends with the runtime.
func OSThread() Option { return func(o *options) { o.osThread = true } }

// PinCPU restricts the runtime's thread to the given CPUs (its affinity);
// it implies OSThread. Spawn fails if the affinity cannot be set.
func PinCPU(cpus ...int) Option {
	return func(o *options) { o.osThread, o.cpus = true, append(o.cpus, cpus...) }
}

// Name names the runtime: in its errors and String, and, on an OS thread,
// as the thread's name in /proc (the kernel keeps 15 bytes).
func Name(s string) Option { return func(o *options) { o.name = s } }

// LinkTo links the new runtime to r before it runs its first step.
func LinkTo(r *Runtime) Option { return func(o *options) { o.links = append(o.links, r) } }

// Spawn starts a runtime running c and returns once it has booted. It
// fails with spec.ErrNilContinuation for a nil c, with spec.ErrTornDown if
// a runtime to link to has torn down, and with the system's error if an
// OS-thread option cannot be applied.
func Spawn(c *cont.C, opts ...Option) (*Runtime, error) {
	if c == nil {
		return nil, spec.ErrNilContinuation
	}
	r := &Runtime{wake: make(chan struct{}, 1), done: make(chan struct{}), c: c}
	for _, o := range opts {
		o(&r.opts)
	}
	r.cond.L = &r.mu
	r.name = r.opts.name
	f := uint32(spec.RtBoot | spec.RtPolling | spec.RtCancels)
	if r.opts.skipPolling {
		f &^= uint32(spec.RtPolling)
	}
	if r.opts.denyCancels {
		f &^= uint32(spec.RtCancels)
	}
	if r.opts.startFrozen {
		f |= uint32(spec.RtFrozen)
	}
	r.flags.Store(f)
	r.ctx.Store(&stepCtx{r: r})
	for _, peer := range r.opts.links {
		if err := r.Link(peer); err != nil {
			r.unlinkAll()
			return nil, err
		}
	}
	booted := make(chan error, 1)
	go r.main(booted)
	if err := <-booted; err != nil {
		r.unlinkAll()
		<-r.done
		return nil, err
	}
	return r, nil
}

// FromContext returns the runtime running the step whose context ctx is
// (directly, or through a pool's dispatcher), or nil: how a continuation
// that moves between pools finds out where it is.
func FromContext(ctx context.Context) *Runtime {
	if ctx == nil {
		return nil
	}
	r, _ := ctx.Value(cont.SpawnerKey{}).(*Runtime)
	return r
}

// OnOSThread reports whether r runs on an OS thread of its own (OSThread,
// PinCPU): whether its steps run on a goroutine locked to its thread.
func (r *Runtime) OnOSThread() bool { return r.opts.osThread }

// SpawnNovel starts a runtime running c, of r's kind: on an OS thread of
// its own if r is (pinned to the same CPUs), on a goroutine otherwise. It
// is r's cont.Spawner, which r's steps find in their context, for
// cont.NovelThread and seq.NovelThread; join joins the new runtime.
func (r *Runtime) SpawnNovel(c *cont.C) (join func() error, err error) {
	var opts []Option
	if r.opts.osThread {
		opts = append(opts, OSThread())
	}
	if len(r.opts.cpus) > 0 {
		opts = append(opts, PinCPU(r.opts.cpus...))
	}
	n, err := Spawn(c, opts...)
	if err != nil {
		return nil, err
	}
	return n.Join, nil
}

// SpawnLink starts a runtime running c, linked to r from its first step.
func (r *Runtime) SpawnLink(c *cont.C, opts ...Option) (*Runtime, error) {
	return Spawn(c, append(opts, LinkTo(r))...)
}

// main is the runtime's goroutine: boot, loop, teardown.
func (r *Runtime) main(booted chan<- error) {
	if r.opts.osThread && !lockOffMainThread() {
		// The main thread: hold it locked while another goroutine, which
		// therefore lands on another thread, takes over.
		moved := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(moved)
			r.run(booted)
		}()
		<-moved
		runtime.UnlockOSThread()
		return
	}
	r.run(booted)
}

// run boots the runtime on the calling goroutine, locked to its own thread
// for OSThread, runs its loop and tears it down.
func (r *Runtime) run(booted chan<- error) {
	if r.opts.osThread {
		// Never unlocked: the thread exits with this goroutine.
		if err := r.setupThread(); err != nil {
			r.setFlags(spec.RtHalted|spec.RtTeardown|spec.RtDead, spec.RtBoot|spec.RtPolling|spec.RtRunning)
			close(r.done)
			booted <- err
			return
		}
	}
	if len(r.opts.signals) > 0 {
		if err := r.listen(); err != nil {
			r.setFlags(spec.RtHalted|spec.RtTeardown|spec.RtDead, spec.RtBoot|spec.RtPolling|spec.RtRunning)
			if q := r.evq.Load(); q != nil {
				q.Close()
			}
			close(r.done)
			booted <- err
			return
		}
	}
	r.setFlags(0, spec.RtBoot)
	booted <- nil
	r.teardown(r.loop())
}

// lockOffMainThread locks the calling goroutine to its OS thread and
// reports whether that is not the process's main thread. Go cannot end the
// main thread, so a locked goroutine that exits there wedges it for good,
// and the runtime's thread would outlive it.
func lockOffMainThread() bool {
	runtime.LockOSThread()
	return unix.Gettid() != unix.Getpid()
}

// setupThread applies the OS-thread options to the calling thread.
func (r *Runtime) setupThread() error {
	if len(r.opts.cpus) > 0 {
		var set unix.CPUSet
		for _, cpu := range r.opts.cpus {
			set.Set(cpu)
		}
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("runtime %s: pinning to CPUs %v: %w", r, r.opts.cpus, err)
		}
	}
	if r.name != "" {
		name := r.name
		if len(name) > 15 {
			name = name[:15]
		}
		comm := fmt.Sprintf("/proc/self/task/%d/comm", unix.Gettid())
		if err := os.WriteFile(comm, []byte(name), 0); err != nil {
			return fmt.Errorf("runtime %s: naming the thread: %w", r, err)
		}
	}
	return nil
}

// loop runs steps until the runtime halts or its continuation finishes,
// and returns the error the runtime ends with.
func (r *Runtime) loop() error {
	for {
		// Replace an ended context first, then read the flags: a control
		// operation sets its flag before it ends the context, so if the
		// context this step gets is already ended, or is ended later, the
		// flag is seen here or at the next turn.
		ctx := r.ctx.Load()
		if ctx.ended() {
			ctx = &stepCtx{r: r}
			r.ctx.Store(ctx)
		}
		f := r.flags.Load()
		if f&uint32(spec.RtHalted) != 0 {
			return nil
		}
		if f&ejecting != 0 {
			r.handOver()
			continue
		}
		if f&uint32(spec.RtFrozen) != 0 {
			if !r.park() {
				return nil
			}
			continue
		}
		if f&emptied != 0 { // ejected, then thawed: nothing left to run
			return nil
		}
		chaos.Point() // a Freeze and an Eject may come now, before Running
		if f&uint32(spec.RtRunning) == 0 && !r.update(func(f uint32) (uint32, bool) {
			// Running goes on only while nothing stops the runtime and an
			// Eject has not taken the continuation: an Eject of a runtime
			// asleep takes it by a CAS that needs Running off, so r.c
			// stays put while Running is on.
			return f | uint32(spec.RtRunning), f&(uint32(spec.RtFrozen|spec.RtHalted)|ejecting|emptied) == 0
		}) {
			continue // something to do first: look again
		}
		c := r.c
		if c == nil { // idle: its continuations wait in its event queue
			next, finished, err := r.idle(ctx)
			switch {
			case err != nil:
				r.setFlags(spec.RtHalted, 0)
				return err
			case finished:
				return nil
			case next == nil:
				continue // woken with nothing to run: look at the flags
			}
			r.c, c = next, next
		}
		done, err := step(ctx, c)
		if pe, ok := err.(*PanicError); ok {
			pe.Runtime = r.String()
		}
		if err != nil {
			r.setFlags(spec.RtHalted, 0)
			return err
		}
		if err := r.settle(c, done); err != nil {
			r.setFlags(spec.RtHalted, 0)
			return err
		}
		if r.c == nil && !r.pending() {
			return nil // finished, and nothing waits in the event queue
		}
	}
}

// EventQueue returns the runtime's local event queue, making it on first
// use: where eventq.Await, eventq.Sleep and seq's Sleep and Await leave
// the continuations of its steps (they find it with eventq.FromContext),
// and where anything registered with it runs when ready. The runtime runs
// what its queue hands out, a step at a time in turn with its own
// continuation, polling the queue every 64 steps while one goes on (a
// poll is a system call), and when it has nothing
// else to run it sleeps in its queue, using no CPU, until something is
// ready or a control operation (Halt, Freeze, Interrupt, Cancel, Eject)
// wakes it. It finishes once its continuation has and nothing is left in
// its queue. It fails with eventq.ErrNoQueue without Polling (SkipPolling,
// and after teardown, which closes the queue).
//
// The queue is polled between steps only: a step that blocks (in a
// mailbox's Recv, say) holds up what becomes ready meanwhile until it
// returns.
func (r *Runtime) EventQueue() (*eventq.Queue, error) {
	if q := r.evq.Load(); q != nil {
		return q, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if q := r.evq.Load(); q != nil {
		return q, nil
	}
	// Teardown turns Polling off under mu, before it closes the queue.
	if r.flags.Load()&uint32(spec.RtPolling) == 0 {
		return nil, fmt.Errorf("runtime %s does not poll: %w", r, eventq.ErrNoQueue)
	}
	q, err := eventq.New()
	if err != nil {
		return nil, fmt.Errorf("runtime %s: %w", r, err)
	}
	r.evq.Store(q)
	return q, nil
}

var _ eventq.Source = (*Runtime)(nil)

// pending reports whether the runtime's event queue holds or handed out
// anything it has yet to run.
func (r *Runtime) pending() bool {
	if len(r.runq) > 0 {
		return true
	}
	q := r.evq.Load()
	if q == nil {
		return false
	}
	own := 0
	if r.sigs != nil {
		own = 1 // the runtime's signal registration is not work
	}
	return q.Len() > own
}

// listen registers the runtime's signals (Signals) in its event queue.
func (r *Runtime) listen() error {
	q, err := r.EventQueue()
	if err != nil {
		return err
	}
	r.sigs = cont.New(r.applySignals)
	if _, err := q.Signal(r.sigs, r.opts.signals...); err != nil {
		return fmt.Errorf("runtime %s: signals: %w", r, err)
	}
	return nil
}

// applySignals is the step of the runtime's signal continuation: it
// applies what the last firing brought. Lent by its registration, it is
// handed back after the step.
func (r *Runtime) applySignals(ctx context.Context, c *cont.C) cont.Step {
	for _, sig := range r.signals {
		r.Signal(sig)
	}
	r.signals = r.signals[:0]
	return c.Next()
}

// idle finds the next continuation to run when the runtime has none in
// hand: one the event queue handed out earlier, or one it hands out now,
// waiting for it in the queue unless ctx has ended (a control operation
// ends ctx, then wakes the queue: see endStep). It reports finished if
// nothing is left to wait for, and returns nil if woken with nothing to
// run.
func (r *Runtime) idle(ctx *stepCtx) (c *cont.C, finished bool, err error) {
	if c := r.pop(); c != nil {
		return c, false, nil
	}
	if !r.pending() {
		return nil, true, nil
	}
	if ctx.ended() {
		return nil, false, nil
	}
	if err := r.take(r.evq.Load().Wait(r.ready[:0], -1)); err != nil {
		return nil, false, err
	}
	return r.pop(), false, nil
}

// take queues what the event queue handed out for a turn each.
func (r *Runtime) take(ready []eventq.Ready, err error) error {
	for i, rd := range ready {
		if rd.C == r.sigs && r.sigs != nil {
			r.signals = append(r.signals, rd.Signals...)
		}
		if !rd.Ended {
			if r.lent == nil {
				r.lent = make(map[*cont.C]eventq.ID)
			}
			r.lent[rd.C] = rd.ID
		}
		r.runq = append(r.runq, rd.C)
		ready[i] = eventq.Ready{}
	}
	r.ready = ready[:0]
	if err != nil {
		return fmt.Errorf("runtime %s: event queue: %w", r, err)
	}
	return nil
}

// pop returns the continuation whose turn it is, or nil.
func (r *Runtime) pop() *cont.C {
	if len(r.runq) == 0 {
		return nil
	}
	c := r.runq[0]
	r.runq[0] = nil
	r.runq = r.runq[1:]
	return c
}

// pollEvery is how many steps of a continuation that goes on the runtime
// runs between two polls of its event queue: what became ready meanwhile,
// and the runtime's signals, wait at most that many steps.
const pollEvery = 64

// settle decides what the runtime holds after a step of c, which reported
// done: a continuation out of a repeating registration goes back to its
// registration unless finished (then the registration ends); a finished
// or departed one leaves the runtime idle; one that goes on takes its
// turn after those the event queue has handed out, which the runtime
// polls for every pollEvery steps while anything is registered.
func (r *Runtime) settle(c *cont.C, done bool) error {
	q := r.evq.Load()
	if id, ok := r.lent[c]; ok {
		delete(r.lent, c)
		switch {
		case done:
			q.Cancel(id)
		case q.Rearm(id) == nil:
			r.c = nil // back in its registration
			return nil
		}
	}
	if done {
		r.c = nil
		return nil
	}
	// Poll every pollEvery steps, not after each: a poll is a system call,
	// which would cost a continuation that goes on step after step almost
	// thirty times its step (measured: 22 ns a step, 618 ns with a poll).
	if q != nil {
		if r.sincePoll++; r.sincePoll >= pollEvery {
			r.sincePoll = 0
			if q.Len() > 0 {
				if err := r.take(q.Poll(r.ready[:0])); err != nil {
					return err
				}
			}
		}
	}
	if len(r.runq) > 0 {
		r.runq = append(r.runq, c)
		r.c = r.pop()
	}
	return nil
}

// Leftovers returns, once the runtime is Dead, the continuations it had
// not finished: the one in hand (unless Cancel dropped it), those its
// event queue had handed out and not run to the end, and those still
// registered there (its Close hands them back). Before Dead it returns
// nil.
func (r *Runtime) Leftovers() []*cont.C {
	select {
	case <-r.done:
	default:
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.left)
}

// step runs one step of c, turning a panic into an error.
func step(ctx *stepCtx, c *cont.C) (done bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return c.Step(ctx), nil
}

// PanicError is the error of a runtime whose step panicked: the runtime,
// the value and the stack. It matches spec.ErrPanicked with errors.Is.
type PanicError struct {
	Runtime string // the runtime's name (see Name), or its address
	Value   any
	Stack   []byte // the panicking goroutine's stack, as debug.Stack gives it
}

// Error names the runtime and the value; the stack is in the Stack field.
func (e *PanicError) Error() string {
	return fmt.Sprintf("runtime %s: a step panicked: %v", e.Runtime, e.Value)
}

// Is reports whether target is spec.ErrPanicked.
func (e *PanicError) Is(target error) bool { return target == spec.ErrPanicked }

// handOver gives the continuation to the Eject waiting for it: Frozen on,
// Running off and the continuation gone, in one step under mu, so that an
// Eject takes effect at one instant. A runtime halted first hands nothing
// over: the Eject fails.
func (r *Runtime) handOver() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c == nil { // idle: nothing to hand over
		r.setFlags(0, ejecting)
		r.idleEject = true
		r.cond.Broadcast()
		return
	}
	if r.update(func(f uint32) (uint32, bool) {
		return f&^(ejecting|uint32(spec.RtRunning)) | uint32(spec.RtFrozen) | emptied, f&(uint32(spec.RtHalted)|emptied) == 0
	}) {
		r.handed, r.c = r.c, nil
	} else {
		r.setFlags(0, ejecting)
	}
	r.cond.Broadcast()
}

// park sleeps while the runtime is frozen, with Running off, and reports
// false if it was halted meanwhile. It returns, true, as soon as an Eject
// asks for a hand-over, even while the runtime is frozen: the loop then
// hands the continuation over. An Eject asks when it finds the runtime
// neither asleep and frozen (it would take the continuation itself) nor
// idle, and then waits for the hand-over; if a Freeze comes next, the
// runtime is frozen and asleep without anyone waking the Eject to see it,
// so the sleeper must not sleep on. (The pool campaign caught it so:
// Thaw, then Eject, then Freeze, all before the thawed runtime woke.)
func (r *Runtime) park() bool {
	r.mu.Lock()
	r.setFlags(0, spec.RtRunning)
	r.cond.Broadcast() // an Eject may be waiting for Running to go off
	r.mu.Unlock()
	for {
		f := r.flags.Load()
		if f&uint32(spec.RtHalted) != 0 {
			return false
		}
		if f&uint32(spec.RtFrozen) == 0 || f&ejecting != 0 {
			return true
		}
		if r.sigs == nil || r.parkInQueue() != nil {
			<-r.wake
		}
	}
}

// parkInQueue sleeps, frozen, in the event queue, where the runtime's
// signals (Signals) arrive, so that SIGCONT can thaw it: it applies them
// at once, running no step. Whatever else becomes ready meanwhile waits
// for the thaw. Thaw and Halt wake the queue (signalWake).
func (r *Runtime) parkInQueue() error {
	q := r.evq.Load()
	if err := r.take(q.Wait(r.ready[:0], -1)); err != nil {
		return err
	}
	if i := slices.Index(r.runq, r.sigs); i >= 0 {
		r.runq = slices.Delete(r.runq, i, i+1)
		for _, sig := range r.signals {
			r.Signal(sig)
		}
		r.signals = r.signals[:0]
		if id, ok := r.lent[r.sigs]; ok {
			delete(r.lent, r.sigs)
			q.Rearm(id)
		}
	}
	return nil
}

// teardown ends the runtime: final error, flags, linked runtimes, Dead.
func (r *Runtime) teardown(err error) {
	chaos.Point() // a Cancel may come now
	r.mu.Lock()
	// Teardown goes on by the CAS that reads whether Cancel came first:
	// Cancel's own CAS fails once Teardown is on, so a Cancel that
	// succeeded is always seen here and makes the error ErrCanceled.
	var f uint32
	r.update(func(old uint32) (uint32, bool) {
		f = old
		return old&^uint32(spec.RtRunning|spec.RtPolling|spec.RtBoot|spec.RtFrozen) | uint32(spec.RtTeardown), true
	})
	if f&canceled != 0 {
		r.c = nil // a canceled continuation never runs again
		if err == nil {
			err = spec.ErrCanceled
		}
	}
	// Nothing is lost: what the runtime had not finished stays countable.
	if r.c != nil && r.c != r.sigs && !r.c.Done() {
		r.left = append(r.left, r.c)
	}
	for _, c := range r.runq {
		if c != r.sigs {
			r.left = append(r.left, c)
		}
	}
	r.runq = nil
	if q := r.evq.Load(); q != nil {
		held, qerr := q.Close()
		for _, c := range held {
			if c != r.sigs {
				r.left = append(r.left, c)
			}
		}
		if err == nil && qerr != nil {
			err = fmt.Errorf("runtime %s: closing its event queue: %w", r, qerr)
		}
	}
	if r.err == nil {
		r.err = err
	}
	r.cond.Broadcast()
	peers := make([]*Runtime, 0, len(r.links))
	for p := range r.links {
		peers = append(peers, p)
	}
	failed := r.err
	r.mu.Unlock()
	for _, p := range peers {
		p.haltLinked(r, failed)
	}
	r.setFlags(spec.RtDead, 0)
	close(r.done)
}

// haltLinked halts r because linked runtime peer tore down; if peer
// failed, r's error says so.
func (r *Runtime) haltLinked(peer *Runtime, failed error) {
	if failed != nil {
		r.mu.Lock()
		if r.err == nil && r.flags.Load()&uint32(spec.RtTeardown) == 0 {
			r.err = &LinkedError{Peer: peer.String(), Err: failed}
		}
		r.mu.Unlock()
	}
	r.Halt()
}

// LinkedError is the error of a runtime halted because a linked runtime
// failed. It matches spec.ErrLinkedFailure, and, through Unwrap, the
// linked runtime's own error.
type LinkedError struct {
	Peer string // the failed runtime
	Err  error  // its error
}

func (e *LinkedError) Error() string {
	return fmt.Sprintf("runtime: linked runtime %s failed: %v", e.Peer, e.Err)
}

// Is reports whether target is spec.ErrLinkedFailure.
func (e *LinkedError) Is(target error) bool { return target == spec.ErrLinkedFailure }

// Unwrap returns the linked runtime's error.
func (e *LinkedError) Unwrap() error { return e.Err }

// setFlags turns on and off flags atomically.
func (r *Runtime) setFlags(on, off spec.RuntimeFlags) {
	for {
		f := r.flags.Load()
		n := f&^uint32(off) | uint32(on)
		if n == f || r.flags.CompareAndSwap(f, n) {
			return
		}
	}
}

// update applies f to the flags by CAS until it reports no change
// (false) or the CAS succeeds (true).
func (r *Runtime) update(f func(uint32) (uint32, bool)) bool {
	for {
		old := r.flags.Load()
		n, ok := f(old)
		if !ok {
			return false
		}
		if r.flags.CompareAndSwap(old, n) {
			return true
		}
	}
}

// signalWake leaves a token for a runtime asleep while frozen.
func (r *Runtime) signalWake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
	if r.sigs != nil { // asleep frozen in its queue: see parkInQueue
		if q := r.evq.Load(); q != nil {
			q.Wake()
		}
	}
}

// Halt tells the runtime to stop at its next cooperative point, waking it
// if it is frozen or asleep in a context-aware wait, and reports whether it
// was not halted already. It does nothing once the runtime has torn down
// (it has stopped already).
func (r *Runtime) Halt() bool {
	ok := r.update(func(f uint32) (uint32, bool) {
		return f | uint32(spec.RtHalted), f&uint32(spec.RtHalted|spec.RtTeardown) == 0
	})
	if ok {
		r.endStep(errHalted)
		r.signalWake()
	}
	return ok
}

// Freeze tells the runtime to stop at its next cooperative point and sleep
// until thawed, and reports whether it was not frozen already. It refuses
// (false) once the runtime is halted or torn down, or Eject has taken its
// continuation (thawed, it tears down). It does not wait for
// the step in progress: Flags shows Running off once the runtime sleeps.
func (r *Runtime) Freeze() bool {
	ok := r.update(func(f uint32) (uint32, bool) {
		return f | uint32(spec.RtFrozen), f&(uint32(spec.RtFrozen|spec.RtHalted|spec.RtTeardown)|emptied) == 0
	})
	if ok {
		r.endStep(errFrozen)
	}
	return ok
}

// Thaw undoes Freeze and reports whether the runtime was frozen.
func (r *Runtime) Thaw() bool {
	ok := r.update(func(f uint32) (uint32, bool) {
		return f &^ uint32(spec.RtFrozen), f&uint32(spec.RtFrozen) != 0
	})
	if ok {
		r.signalWake()
	}
	return ok
}

// Interrupt ends the context of the step in progress, so that a step
// asleep in a context-aware wait returns. A step that is not waiting is not
// affected, and the next step gets a new context.
func (r *Runtime) Interrupt() { r.endStep(errInterrupted) }

// Cancel halts the runtime and drops its continuation, which will never
// run again; the runtime's error becomes spec.ErrCanceled. Go cannot stop a
// goroutine, so a step in progress that ignores its context runs to its
// end first. It reports false, doing nothing, with DenyCancels, or once the
// runtime has torn down or was canceled already.
func (r *Runtime) Cancel() bool {
	ok := r.update(func(f uint32) (uint32, bool) {
		return f | canceled | uint32(spec.RtHalted),
			f&uint32(spec.RtCancels) != 0 && f&(canceled|uint32(spec.RtTeardown)) == 0
	})
	if ok {
		r.endStep(spec.ErrCanceled)
		r.signalWake()
	}
	return ok
}

// endStep ends the context of the step in progress with err.
func (r *Runtime) endStep(err error) {
	r.ctx.Load().end(err)
	if q := r.evq.Load(); q != nil {
		q.Wake() // the loop may be asleep in the event queue
	}
}

// Eject takes the runtime's continuation and leaves the runtime frozen
// without one: thawed, it tears down. A runtime that is not already frozen
// and asleep hands the continuation over at its next cooperative point
// (the step in progress is interrupted, and returns first), turning Frozen
// on and Running off as it does, so that Eject takes effect at one
// instant. Eject fails with spec.ErrTornDown if the runtime is halted or
// torn down first, and with spec.ErrNoContinuation if it has none (taken
// already, or the runtime is idle: see EventQueue).
func (r *Runtime) Eject() (*cont.C, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	waited := false
	for {
		f := r.flags.Load()
		switch {
		case r.idleEject && waited:
			r.idleEject = false
			return nil, spec.ErrNoContinuation
		case r.handed != nil && waited:
			// Handed over to the Ejects waiting then, this one among
			// them: the first to wake takes it. The Eject took effect at
			// the hand-over.
			c := r.handed
			r.handed = nil
			return c, nil
		case f&uint32(spec.RtHalted|spec.RtTeardown) != 0:
			return nil, spec.ErrTornDown
		case r.handed != nil || f&emptied != 0:
			// Taken already, or handed over before this call to an Eject
			// that has yet to wake.
			return nil, spec.ErrNoContinuation
		case f&uint32(spec.RtFrozen) != 0 && f&uint32(spec.RtRunning) == 0 && r.c == nil:
			return nil, spec.ErrNoContinuation // idle: its continuations wait in its event queue
		case f&uint32(spec.RtFrozen) != 0 && f&uint32(spec.RtRunning) == 0:
			// Asleep: take it now. The runtime turns Running on only by
			// a CAS that fails once emptied is set, and this CAS fails
			// once Running is on, so the two exclude each other: the
			// runtime cannot be about to run a step of r.c.
			if !r.flags.CompareAndSwap(f, f&^ejecting|emptied) {
				continue // the flags moved: look again
			}
			c := r.c
			r.c = nil
			return c, nil
		case f&ejecting == 0:
			r.setFlags(ejecting, 0)
			r.endStep(errFrozen)
			r.signalWake()
		}
		r.cond.Wait()
		waited = true
	}
}

// Join waits until the runtime is Dead and returns its error.
func (r *Runtime) Join() error {
	<-r.done
	return r.Err()
}

// JoinContext is Join, returning ctx's error if ctx ends first.
func (r *Runtime) JoinContext(ctx context.Context) error {
	select {
	case <-r.done:
		return r.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done returns a channel closed once the runtime is Dead.
func (r *Runtime) Done() <-chan struct{} { return r.done }

// Err returns the runtime's error so far: nil while it runs normally.
func (r *Runtime) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Flags returns the runtime's flags at one instant.
func (r *Runtime) Flags() spec.RuntimeFlags {
	return spec.RuntimeFlags(r.flags.Load() & publicFlags)
}

// Link links r and other both ways: the teardown of either halts the
// other. It fails with spec.ErrSelfLink for r itself, and with
// spec.ErrTornDown if either has torn down.
func (r *Runtime) Link(other *Runtime) error {
	if other == r {
		return spec.ErrSelfLink
	}
	if err := r.link1(other); err != nil {
		return err
	}
	if err := other.link1(r); err != nil {
		r.unlink1(other)
		return err
	}
	return nil
}

func (r *Runtime) link1(other *Runtime) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.flags.Load()&uint32(spec.RtTeardown) != 0 {
		return fmt.Errorf("linking %s: %w", r, spec.ErrTornDown)
	}
	if r.links == nil {
		r.links = make(map[*Runtime]struct{})
	}
	r.links[other] = struct{}{}
	r.setFlags(spec.RtLinked, 0)
	return nil
}

// Unlink undoes Link; it does nothing if they are not linked.
func (r *Runtime) Unlink(other *Runtime) {
	r.unlink1(other)
	other.unlink1(r)
}

func (r *Runtime) unlink1(other *Runtime) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.links, other)
	if len(r.links) == 0 && r.flags.Load()&uint32(spec.RtTeardown) == 0 {
		r.setFlags(0, spec.RtLinked)
	}
}

func (r *Runtime) unlinkAll() {
	for _, p := range r.opts.links {
		r.Unlink(p)
	}
}

// Signal applies sig's default action: SIGTERM and SIGQUIT halt the
// runtime, SIGCONT thaws it, and every other signal (SIGINT among them) is
// ignored.
func (r *Runtime) Signal(sig os.Signal) {
	switch sig {
	case syscall.SIGTERM, syscall.SIGQUIT:
		r.Halt()
	case syscall.SIGCONT:
		r.Thaw()
	}
}

// String names the runtime: its Name, or its address.
func (r *Runtime) String() string {
	if r.name != "" {
		return r.name
	}
	return fmt.Sprintf("%p", r)
}

// The reasons a step's context ends, other than spec.ErrCanceled.
var (
	errHalted      = errors.New("runtime: halted")
	errFrozen      = errors.New("runtime: frozen")
	errInterrupted = errors.New("runtime: interrupted")
)
