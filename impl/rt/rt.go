// Package rt provides runtimes: one continuation run step by step on a
// goroutine of its own, or on an OS thread of its own, that can be halted,
// frozen, thawed, interrupted, canceled, ejected from, linked to others
// and signalled. It is the Go form of the Nim original's detached
// threads; the rules are in spec.Runtime, and the package name keeps clear
// of Go's own runtime.
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
// instance) returns promptly; that is what the Nim original achieved by
// signalling the thread out of its futex wait.
//
// # Failure
//
// A panic in a step is caught: it becomes the runtime's error, with the
// value and the stack (ErrPanicked), the runtime halts, and its
// teardown halts every runtime linked to it, each of which then reports
// ErrLinkedFailure wrapping the cause, and so on down a chain of
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
	"fmt"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/seam"
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

// spawned counts the runtimes spawned, for Runtime.seq. It orders nothing
// but Link's two locks, so it is not a switch point: a sync/atomic
// counter, which a schedule's replay numbers in the same order.
var spawned atomic.Uint64

// Runtime runs one continuation. Its methods are safe for concurrent use.
type Runtime struct {
	flags seam.Uint32 // Flags, and canceled

	// ctx is the context of the step in progress or the next one. An ended
	// one is replaced before the next step, before the flags are read, so
	// that a control operation that sets a flag and then ends the context
	// is never missed.
	ctx seam.Pointer[stepCtx]

	// wake holds a permit for a runtime asleep while frozen.
	wake seam.Parker
	// done is closed (seam.Close) once the runtime is Dead.
	done chan struct{}

	mu     seam.Mutex
	cond   seam.Cond // on mu: Running went off, a hand-over, or teardown
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
	evq seam.Pointer[eventq.Queue]
	// sigs is the continuation of the runtime's own signal registration
	// (Signals), which the queue does not count as work: set by Spawn
	// before the runtime can be reached (a linked peer's teardown may halt
	// it while it boots, and Halt reads sigs in signalWake), never written
	// after. signals holds what its last firing brought: the loop's alone.
	sigs      *cont.C
	signals   []os.Signal
	runq      []*cont.C
	sincePoll int // steps since the last poll (see settle)
	lent      map[*cont.C]eventq.ID
	ready     []eventq.Ready
	left      []*cont.C

	name string
	opts options
	seq  uint64 // the order of its Spawn among all runtimes: Link's lock order
}

var _ spec.Runtime = (*Runtime)(nil)

// Spawn starts a runtime running c and returns once it has booted. It
// fails with ErrNilContinuation for a nil c, with ErrTornDown if
// a runtime to link to has torn down, and with the system's error if an
// OS-thread option cannot be applied.
func Spawn(c *cont.C, opts ...Option) (*Runtime, error) {
	if c == nil {
		return nil, ErrNilContinuation
	}
	r := &Runtime{wake: seam.MakeParker(), done: make(chan struct{}), c: c, seq: spawned.Add(1)}
	for _, o := range opts {
		o(&r.opts)
	}
	r.cond.Init(&r.mu)
	r.name = r.opts.name
	f := uint32(FlagBoot | FlagPolling | FlagCancels)
	if r.opts.skipPolling {
		f &^= uint32(FlagPolling)
	}
	if r.opts.denyCancels {
		f &^= uint32(FlagCancels)
	}
	if r.opts.startFrozen {
		f |= uint32(FlagFrozen)
	}
	r.flags.Store(f)
	r.ctx.Store(&stepCtx{r: r})
	if len(r.opts.signals) > 0 {
		// Before the links, not in listen: a peer's Halt reads it.
		r.sigs = cont.New(r.applySignals)
	}
	for _, peer := range r.opts.links {
		if err := r.Link(peer); err != nil {
			r.unlinkAll()
			return nil, err
		}
	}
	b := &boot{done: make(chan struct{})}
	seam.Go(func() { r.main(b) })
	seam.Await(b.done)
	if err := b.err; err != nil {
		r.unlinkAll()
		seam.Await(r.done)
		return nil, err
	}
	return r, nil
}

// boot is how a runtime's goroutine tells Spawn that it has booted: err,
// written before done is closed and read after it.
type boot struct {
	done chan struct{}
	err  error
}

// booted reports that the runtime booted, or failed to with err.
func (b *boot) booted(err error) {
	b.err = err
	seam.Close(b.done)
}

// FromContext returns the runtime running the step whose context ctx is
// (directly, or through a pool's dispatcher), or nil: how a continuation
// that moves between pools finds out where it is. ctx must not be nil:
// FromContext panics if it is, as context.WithValue does with a nil
// parent.
func FromContext(ctx context.Context) *Runtime {
	if ctx == nil {
		panic("rt: FromContext with a nil context.Context: pass the step's context")
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
func (r *Runtime) main(b *boot) {
	if r.opts.osThread && (seam.Enabled || !lockOffMainThread()) {
		// The main thread: hold it locked while another goroutine, which
		// therefore lands on another thread, takes over. Under the
		// controlled scheduler always, so that a runtime takes the same
		// steps whichever thread it started on (impl/seam keeps the main
		// thread to the main goroutine in that build).
		moved := make(chan struct{})
		seam.Go(func() {
			runtime.LockOSThread() // outside the seam: a lock to an OS thread, no shared memory; the controlled scheduler does not see threads
			seam.Close(moved)
			r.run(b)
		})
		seam.Await(moved)
		runtime.UnlockOSThread() // outside the seam: as LockOSThread
		return
	}
	r.run(b)
}

// run boots the runtime on the calling goroutine, locked to its own thread
// for OSThread, runs its loop and tears it down.
func (r *Runtime) run(b *boot) {
	if r.opts.osThread {
		// Never unlocked: the thread exits with this goroutine.
		if err := r.setupThread(); err != nil {
			r.setFlags(FlagHalted|FlagTeardown|FlagDead, FlagBoot|FlagPolling|FlagRunning)
			seam.Close(r.done)
			b.booted(err)
			return
		}
	}
	if len(r.opts.signals) > 0 {
		if err := r.listen(); err != nil {
			r.setFlags(FlagHalted|FlagTeardown|FlagDead, FlagBoot|FlagPolling|FlagRunning)
			if q := r.evq.Load(); q != nil {
				q.Close()
			}
			seam.Close(r.done)
			b.booted(err)
			return
		}
	}
	r.setFlags(0, FlagBoot)
	b.booted(nil)
	r.teardown(r.loop())
}

// lockOffMainThread locks the calling goroutine to its OS thread and
// reports whether that is not the process's main thread. Go cannot end the
// main thread, so a locked goroutine that exits there wedges it for good,
// and the runtime's thread would outlive it.
func lockOffMainThread() bool {
	runtime.LockOSThread() // outside the seam: a lock to an OS thread, no shared memory; the controlled scheduler does not see threads
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

// String names the runtime: its Name, or its address.
func (r *Runtime) String() string {
	if r.name != "" {
		return r.name
	}
	return fmt.Sprintf("%p", r)
}
