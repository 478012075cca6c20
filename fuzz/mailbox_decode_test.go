package fuzz

import (
	"fmt"
	"time"

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
