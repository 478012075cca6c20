package fuzz

import (
	"fmt"
	"strings"
	"time"

	"github.com/insideout-go/insideout/model"
)

// The runtime's input format (see doc.go): byte 0 picks the number of
// clients, and every further byte, up to rtMaxSteps, one step: its low
// four bits an entry of rtTable, bits 4 and 5 whether the runtime is first
// let run (see rtStep.let), its top two bits the client.
const (
	rtMaxClients = 4
	// rtMaxSteps caps the sequential program; bytes past it are ignored.
	rtMaxSteps = 24
	// rtMaxPerClient caps each client's part of the concurrent program, so
	// that its history stays small enough for porcupine to decide in
	// milliseconds (the runtime model is nondeterministic: teardown may
	// happen at any instant once it is due).
	rtMaxPerClient = 6
	// rtSettleLimit is how long the sequential replay waits for the
	// runtime to settle where the reference says it must (asleep once
	// frozen, Dead once halted, running once thawed), for its counter to
	// move while it runs, and for Join to return once it is Dead. It is no
	// timing assertion: a correct runtime gets there in microseconds, and
	// the limit only turns one that never does into a report instead of a
	// hang.
	rtSettleLimit = 5 * time.Second
)

// An rtKind is an operation on a runtime, as the fuzz input names it.
type rtKind uint8

const (
	rtHalt rtKind = iota
	rtFreeze
	rtThaw
	rtInterrupt
	rtCancel
	rtEject
	rtFlags
	rtSteps
	rtJoin
	rtKinds
)

// rtKindNames name each kind in messages; they are also the names of the
// rttest.Ops operations that run them in the concurrent program.
var rtKindNames = [rtKinds]string{"halt", "freeze", "thaw", "interrupt", "cancel", "eject", "flags", "steps", "join"}

// rtKindOps are the model's names of the kinds.
var rtKindOps = [rtKinds]model.RuntimeOp{
	model.RtHalt, model.RtFreeze, model.RtThaw, model.RtInterrupt, model.RtCancel,
	model.RtEject, model.RtFlags, model.RtSteps, model.RtJoin,
}

// rtTable maps the low four bits of a step byte to an operation: freezes
// and thaws often, the operations that end the runtime (Halt, Cancel)
// rarely, so that programs have time to do something before it is Dead.
var rtTable = [16]rtKind{
	rtHalt,
	rtFreeze, rtFreeze, rtFreeze,
	rtThaw, rtThaw, rtThaw,
	rtInterrupt, rtInterrupt,
	rtCancel,
	rtEject, rtEject,
	rtFlags,
	rtSteps,
	rtJoin, rtJoin,
}

// An rtStep is one operation of a decoded runtime program.
type rtStep struct {
	client int
	kind   rtKind
	// let: before the operation, if the reference says the runtime runs
	// steps, the sequential replay waits until its counter moves, so that
	// the operation meets a runtime that is really stepping, and a runtime
	// that claims to run but runs nothing is caught.
	let bool
}

func (st rtStep) String() string {
	s := rtKindNames[st.kind] + "()"
	if st.let {
		s = "let-run; " + s
	}
	return s
}

// An rtInput is a decoded runtime fuzz input.
type rtInput struct {
	clients int
	steps   []rtStep // in byte order: one interleaving of the clients' programs
}

// decodeRuntime turns data into a runtime program, deterministically;
// every byte string is a valid input.
func decodeRuntime(data []byte) rtInput {
	in := rtInput{clients: 1}
	if len(data) > 0 {
		in.clients = 1 + int(data[0])%rtMaxClients
	}
	if len(data) > 1 {
		body := data[1:]
		if len(body) > rtMaxSteps {
			body = body[:rtMaxSteps]
		}
		for _, b := range body {
			in.steps = append(in.steps, rtStep{client: int(b>>6) % in.clients, kind: rtTable[b&15], let: b&0x30 != 0})
		}
	}
	return in
}

// byClient returns the steps client by client, each client's in its own
// order.
func (in rtInput) byClient() []rtStep {
	out := make([]rtStep, 0, len(in.steps))
	for c := range in.clients {
		for _, st := range in.steps {
			if st.client == c {
				out = append(out, st)
			}
		}
	}
	return out
}

// String renders the program, one step a line.
func (in rtInput) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d clients:", in.clients)
	for i, st := range in.steps {
		fmt.Fprintf(&b, "\n    %2d client %d: %s", i, st.client, st)
	}
	return b.String()
}
