package fuzz

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/spec"
)

// The event queue's input format (see doc.go): every byte, up to
// eqMaxSteps, is one step: its low five bits an entry of the table below
// (eqStep.String names them), its top three bits the entry's parameter p.
// Every byte string is a valid input. The same bytes, read as choices of
// eventqtest.GenRound, also make one concurrent round of the campaign.
const (
	eqMaxSteps = 64
	// eqPatience bounds how long the replay waits for a timer that is due
	// to fire, and for a Wait broken by Wake to return; a correct queue
	// takes microseconds.
	eqPatience = 2 * time.Second
	// eqWakePatience is how long a Wait after a Wake may take before the
	// wake-up counts as lost.
	eqWakePatience = 500 * time.Millisecond
	// eqNoFD is the fd the model is given for a timer or a signal
	// registration, which has none of the caller's: any fd the model
	// accepts.
	eqNoFD = 1 << 20
	// eqNeverID is an id no queue of a fuzz input ever issues.
	eqNeverID spec.EventID = 1 << 40
	// eqKill is the first p of eqOpSignal that sends rather than
	// registers.
	eqKill = 5
)

// The table of steps, by the low five bits of a byte.
const (
	eqOpRegister      = 0          // 0, 1, 2: Register(fresh c, fd, events) of eventqtest.Targets[(entry*8+p) % len]
	eqOpRegisterBad   = 3          // Register with the bad event set eqBadEvents[p] on end p%6
	eqOpRegisterNeg   = 4          // Register on fd -1 (EBADF), events of eventqtest.Targets[p]
	eqOpRegisterShut  = 5          // Register on the number of an end of ours we closed (EBADF), if no fd took it since
	eqOpRegisterAgain = 6          // Register the continuation of the last registration again (ErrRegistered while it lives)
	eqOpRegisterNil   = 7          // Register a nil continuation (ErrNilCont)
	eqOpAfter         = 8          // After(eqAfter[p], fresh c)
	eqOpEvery         = 9          // Every(eqEvery[p], fresh c); 0 and negative periods fail (ErrBadDuration)
	eqOpSignal        = 10         // p 0-4: Signal(fresh c, ...) of no signal, a nil one (ErrNoSignal), SIGUSR1, SIGUSR2, both; p 5-7: send SIGUSR1, SIGUSR2, both to the process
	eqOpKill          = eqOpSignal // its p from eqKill: a kill
	eqOpAfterAgain    = 11         // After(eqAfter[p]) of the last continuation again
	eqOpCancel        = 12         // 12, 13, 14: Cancel(pick p)
	eqOpRearm         = 15         // 15, 16, 17: Rearm(pick p)
	eqOpWrite         = 18         // 18, 19, 20: write 1+p/4 bytes to eqWritable[p%4]
	eqOpRead          = 21         // 21, 22: read eqReadable[p%4] empty
	eqOpCloseEnd      = 23         // close our end p%6 (the queue's duplicates keep the file open)
	eqOpShutdown      = 24         // shutdown(SHUT_WR) of socket end sa or sb (p%2): NoPeer and HangUp
	eqOpPoll          = 25         // 25, 26: Poll
	eqOpWait          = 27         // Wait(1ms)
	eqOpWake          = 28         // Wake, then Wait(-1), which the kept wake-up ends at once
	eqOpClose         = 29         // Close the queue
	eqOpRearmAll      = 30         // Rearm every lent registration
	eqOpFill          = 31         // write to eqWritable[p%4] until it would block (no room: Write is not ready)
	eqOps             = 32
)

var (
	eqAfter     = [8]time.Duration{0, time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, -time.Millisecond, 2 * time.Millisecond}
	eqEvery     = [8]time.Duration{time.Millisecond, 0, -time.Millisecond, 500 * time.Microsecond, 2 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, time.Millisecond}
	eqBadEvents = [8]spec.Events{
		0, spec.EvRead | spec.EvEdge | spec.EvLevel, spec.EvOneShot, spec.EvRead | spec.EvExclusive | spec.EvOneShot,
		spec.EvExclusive | spec.EvNoPeer, spec.EvRead | 1<<14, spec.EvExclusive | spec.EvPriority, spec.EvLevel | spec.EvEdge,
	}
	// eqSignals are the signals of eqOpSignal's registrations by p, and
	// eqKills those it sends by p-eqKill.
	eqSignals  = [eqKill][]os.Signal{nil, {nil}, {syscall.SIGUSR1}, {syscall.SIGUSR2}, {syscall.SIGUSR1, syscall.SIGUSR2}}
	eqKills    = [8 - eqKill][]syscall.Signal{{syscall.SIGUSR1}, {syscall.SIGUSR2}, {syscall.SIGUSR1, syscall.SIGUSR2}}
	eqWritable = [4]eventqtest.End{eventqtest.Pipe0W, eventqtest.Pipe1W, eventqtest.SockA, eventqtest.SockB}
	eqReadable = [4]eventqtest.End{eventqtest.Pipe0R, eventqtest.Pipe1R, eventqtest.SockA, eventqtest.SockB}
)

// eqStep is one decoded step.
type eqStep struct{ op, p int }

func eqByte(op, p int) byte { return byte(op | p<<5) }

func (s eqStep) String() string {
	p := s.p
	switch op := s.op; {
	case op <= 2:
		return fmt.Sprintf("register(%v)", eventqtest.Targets[(op*8+p)%len(eventqtest.Targets)])
	case op == eqOpRegisterBad:
		return fmt.Sprintf("register(%v %v)", eventqtest.End(p%6), eqBadEvents[p])
	case op == eqOpRegisterNeg:
		return fmt.Sprintf("register(fd -1, %v)", eventqtest.Targets[p].Events)
	case op == eqOpRegisterShut:
		return fmt.Sprintf("register(closed %v)", eventqtest.End(p%6))
	case op == eqOpRegisterAgain:
		return fmt.Sprintf("register-again(%v)", eventqtest.Targets[p])
	case op == eqOpRegisterNil:
		return fmt.Sprintf("register-nil(%v)", eventqtest.Targets[p])
	case op == eqOpAfter:
		return fmt.Sprintf("after(%v)", eqAfter[p])
	case op == eqOpEvery:
		return fmt.Sprintf("every(%v)", eqEvery[p])
	case op == eqOpSignal && p >= eqKill:
		return fmt.Sprintf("kill(%v)", eqKills[p-eqKill])
	case op == eqOpSignal:
		return fmt.Sprintf("signal(%v)", eqSignals[p])
	case op == eqOpAfterAgain:
		return fmt.Sprintf("after-again(%v)", eqAfter[p])
	case op >= eqOpCancel && op < eqOpRearm:
		return fmt.Sprintf("cancel(#%d)", p)
	case op >= eqOpRearm && op < eqOpWrite:
		return fmt.Sprintf("rearm(#%d)", p)
	case op >= eqOpWrite && op < eqOpRead:
		return fmt.Sprintf("write(%v, %d)", eqWritable[p%4], 1+p/4)
	case op >= eqOpRead && op < eqOpCloseEnd:
		return fmt.Sprintf("read(%v)", eqReadable[p%4])
	case op == eqOpCloseEnd:
		return fmt.Sprintf("close(%v)", eventqtest.End(p%6))
	case op == eqOpShutdown:
		return fmt.Sprintf("shutdown(%v)", []eventqtest.End{eventqtest.SockA, eventqtest.SockB}[p%2])
	case op == eqOpPoll || op == eqOpPoll+1:
		return "poll"
	case op == eqOpWait:
		return "wait(1ms)"
	case op == eqOpWake:
		return "wake+wait"
	case op == eqOpClose:
		return "close-queue"
	case op == eqOpRearmAll:
		return "rearm-all"
	case op == eqOpFill:
		return fmt.Sprintf("fill(%v)", eqWritable[p%4])
	}
	return "?"
}

// decodeEventQ turns data into a program, deterministically.
func decodeEventQ(data []byte) []eqStep {
	if len(data) > eqMaxSteps {
		data = data[:eqMaxSteps]
	}
	steps := make([]eqStep, len(data))
	for i, b := range data {
		steps[i] = eqStep{op: int(b) % eqOps, p: int(b) >> 5}
	}
	return steps
}

// decodeEventQRound reads data as the choices of a concurrent round of
// the campaign: byte 0 the clients (1 to 3), byte 1 the steps of each (1
// to 8), every further byte one choice of eventqtest.GenRound, modulo the
// number of options; 0 past the end.
func decodeEventQRound(data []byte) eventqtest.Round {
	next := func(n int) int {
		if n <= 1 || len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b) % n
	}
	clients := 1 + next(3)
	ops := 1 + next(8)
	return eventqtest.GenRound(next, clients, ops)
}
