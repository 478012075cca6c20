package mailbox

import (
	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// The state of a mailbox lives in two words, each changed only by
// compare-and-swap, so that every operation takes effect at one CAS on
// one word and decides on one consistent state:
//
//	tail word: bit 63 paused, 62 closed for reading, 61 closed for writing,
//	           bits 34-60 the capacity (all ones: unbounded),
//	           bits 0-33 the tail position: the next send's slot
//	head word: bits 61-63 a copy of the tail word's flags,
//	           bits 0-33 the head position: the next receipt's slot
//
// A send claims its slot and takes effect in one CAS on the tail word,
// which checks the flags and the capacity as it moves the tail; a receipt
// claims its slot and takes effect in one CAS on the head word. So the
// n-th send to take effect fills slot n and the n-th receipt to take effect
// empties it: receipts take items in the order sends delivered them, and
// the count, tail minus head, is exact at every instant. (A design that
// counted items in one word and took them from the queue in a second step
// let a later receipt overtake an earlier one; the linearizability checker
// found it.)
//
// Positions are kept modulo 2^34 in the words; the full 64-bit position of
// a slot is recovered from the ID of the segment hint, both loaded before
// the CAS (segment.LoadHint: the ID is read while the segment is the
// hint's, since a recycled segment gets a greater one), which is never
// more than 2^34 positions behind.
//
// The flags are decided in the tail word and copied to the head word.
// Senders decide on the tail word; receivers CAS the head word, so the copy
// is what makes a flag effective for them. A control operation changes the
// tail word, then copies the flags to the head word; anyone who finds the
// two disagreeing finishes the copy before deciding anything. So each
// operation decides on flags that were the mailbox's flags at one instant:
// Pause and the closes take effect when the copy is made, Resume when the
// tail word is changed; a receipt that wins its CAS before a Pause's copy
// comes before the Pause.
const (
	posBits = 34
	posMask = 1<<posBits - 1

	capBits  = 27
	capShift = posBits
	capMask  = (1<<capBits - 1) << capShift
	capAll   = 1<<capBits - 1 // the capacity field of an unbounded mailbox

	paused      = 1 << 63
	readClosed  = 1 << 62
	writeClosed = 1 << 61
	flagMask    = paused | readClosed | writeClosed
	closed      = readClosed | writeClosed
)

// MaxCapacity is the largest capacity a bounded mailbox can have:
// 134,217,726 (2^27 - 2). New and SetCap treat anything larger as
// Unbounded.
const MaxCapacity = 1<<27 - 2

// MaxCapacity is written out for its documentation; it is the largest
// value of the capacity field short of capAll, which means unbounded.
// These fail to compile if the two ever disagree.
var (
	_ [MaxCapacity - (capAll - 1)]struct{}
	_ [(capAll - 1) - MaxCapacity]struct{}
)

// MaxLen is the most items a mailbox can hold, bounded or not: an
// unbounded mailbox holding MaxLen items reports Full rather than lose
// count.
const MaxLen = 1 << 32

// Unbounded is the capacity of a mailbox without a limit.
const Unbounded = spec.Unbounded

// capField encodes capacity n (non-negative) for the tail word.
func capField(n int) uint64 {
	if n > MaxCapacity {
		n = capAll
	}
	return uint64(n) << capShift
}

// capOf returns the capacity in tail word t, as a limit on the count.
func capOf(t uint64) int {
	c := int(t & capMask >> capShift)
	if c == capAll {
		return MaxLen
	}
	return c
}

// advance returns word w with its position moved forward by n (modulo
// 2^34), everything else unchanged.
func advance(w uint64, n uint64) uint64 { return w&^posMask | (w+n)&posMask }

// A snap is a consistent view of the two words: the tail word t as it was
// at an instant when the head word was h, with the flags agreeing.
type snap struct{ t, h uint64 }

func (s snap) flags() uint64    { return s.t & flagMask }
func (s snap) count() int       { return int((s.t - s.h) & posMask) }
func (s snap) full() bool       { return s.count() >= capOf(s.t) }
func (s snap) unwritable() bool { return s.t&closed != 0 }
func (s snap) unreadable() bool {
	return s.t&readClosed != 0 || s.t&writeClosed != 0 && s.count() == 0
}
func (s snap) sendBlocked() bool { return s.t&paused != 0 || !s.unwritable() && s.full() }
func (s snap) recvBlocked() bool { return s.t&paused != 0 || !s.unreadable() && s.count() == 0 }

// words holds the two words, on cache lines of their own.
type words struct {
	_    [128]byte
	tail seam.Uint64
	_    [128]byte
	head seam.Uint64
	_    [128]byte
	// flagMu serialises every change of the tail word's flags (and
	// capacity) with the copy of the flags to the head word. Without it a
	// copy could land stale: a Resume that read the tail word, then a
	// Pause that changed it and found the head word already agreeing (an
	// older Pause's copy), then the Resume's copy clearing the pause in
	// the head word after Pause had returned, so that a receipt went
	// ahead in a paused mailbox (found by PCT). Only control operations
	// and a snapshot that finds the words disagreeing take it; sends and
	// receipts never do.
	flagMu seam.Mutex
}

// snapshot returns a consistent view: it reads head, tail and head again,
// and starts over if the head moved in between (then the tail word read is
// what it was at an instant when the head word was what was read); if the
// flags disagree it finishes the copy from tail to head first.
func (w *words) snapshot() snap {
	for {
		h := w.head.Load()
		t := w.tail.Load()
		if w.head.Load() != h {
			continue
		}
		if h&flagMask != t&flagMask {
			if knownbad.MailboxStaleFlagCopy.Load() {
				w.head.CompareAndSwap(h, h&^flagMask|t&flagMask)
				continue
			}
			w.flagMu.Lock() // a control operation is between its change and its copy
			w.reconcile()
			w.flagMu.Unlock()
			continue
		}
		return snap{t, h}
	}
}

// reconcile copies the tail word's flags to the head word, unless they
// already agree: the second half of every control operation. flagMu must
// be held, so that the flags cannot change between the load and the copy
// (see words.flagMu); the CAS fails only when a receipt moved the head,
// and then the copy is made again.
func (w *words) reconcile() {
	for {
		h := w.head.Load()
		t := w.tail.Load()
		if h&flagMask == t&flagMask || w.head.CompareAndSwap(h, h&^flagMask|t&flagMask) {
			return
		}
	}
}

// flagsOf returns the observable flags of s; interrupt says whether an
// interrupt is pending.
func flagsOf(s snap, interrupt bool) Flags {
	var f Flags
	set := func(on bool, flag Flags) {
		if on {
			f |= flag
		}
	}
	set(interrupt, FlagInterrupt)
	set(s.t&paused != 0, FlagPaused)
	set(s.count() == 0, FlagEmpty)
	set(s.full(), FlagFull)
	set(!s.unreadable(), FlagReadable)
	set(!s.unwritable(), FlagWritable)
	set(s.t&capMask>>capShift != capAll, FlagBounded)
	return f
}
