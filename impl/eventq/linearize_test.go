package eventq_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/model"
)

// Registers, cancels and rearms from three goroutines race a waiter on a
// pipe that is always readable and writable; the history (each firing
// recorded with the interval of the Wait that handed it out) must be
// linearizable with respect to model.EventQ. Catches: a fire after a
// successful Cancel, a one-shot firing twice, a lent continuation handed
// out again before Rearm, a Cancel or Rearm whose result disagrees with
// the registration's state, ids reused or out of order, an arrival lost.
func TestLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for round := range 8 {
		q, err := eventq.New()
		if err != nil {
			t.Fatal(err)
		}
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			t.Fatal(err)
		}
		unix.Write(p[1], []byte("x"))

		start := time.Now()
		now := func() int64 { return int64(time.Since(start)) }
		var mu sync.Mutex
		var ops []porcupine.Operation
		var issued []eventq.ID
		record := func(client int, in model.EventQInput, out model.EventQOutput, call int64) {
			ret := now()
			mu.Lock()
			ops = append(ops, porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret})
			mu.Unlock()
		}
		pick := func(rng *rand.Rand) eventq.ID {
			mu.Lock()
			defer mu.Unlock()
			if len(issued) == 0 || rng.IntN(8) == 0 {
				return eventq.ID(rng.IntN(100) + 1)
			}
			return issued[rng.IntN(len(issued))]
		}
		type target struct {
			fd int
			ev eventq.Events
		}
		targets := []target{
			{p[0], eventq.Read}, {p[0], eventq.Read | eventq.OneShot}, {p[0], eventq.Read | eventq.Edge},
			{p[1], eventq.Write | eventq.OneShot}, {p[1], eventq.Write | eventq.Level},
			{p[0], eventq.Read | eventq.Edge | eventq.Level}, // bad
		}

		var clients sync.WaitGroup
		for client := range 3 {
			rng := rand.New(rand.NewPCG(uint64(round), uint64(client)))
			clients.Go(func() {
				for range 60 {
					switch rng.IntN(3) {
					case 0:
						tg := targets[rng.IntN(len(targets))]
						in := model.EventQInput{Op: model.EqRegister, FD: tg.fd, Events: tg.ev}
						call := now()
						id, err := q.Register(tg.fd, tg.ev, idle())
						record(client, in, model.EventQOutput{ID: id, Err: err}, call)
						if err == nil {
							mu.Lock()
							issued = append(issued, id)
							mu.Unlock()
						}
					case 1:
						id := pick(rng)
						call := now()
						ok := q.Cancel(id)
						record(client, model.EventQInput{Op: model.EqCancel, ID: id}, model.EventQOutput{Bool: ok}, call)
					case 2:
						id := pick(rng)
						call := now()
						err := q.Rearm(id)
						record(client, model.EventQInput{Op: model.EqRearm, ID: id}, model.EventQOutput{Err: err}, call)
					}
				}
			})
		}
		var done atomic.Bool
		var waiter sync.WaitGroup
		waiter.Go(func() {
			var buf []eventq.Ready
			for last := false; !last; {
				last = done.Load()
				call := now()
				var err error
				if buf, err = q.Wait(buf[:0], time.Millisecond); err != nil {
					t.Error(err)
					return
				}
				for _, rd := range buf {
					record(3, model.EventQInput{Op: model.EqFire, ID: rd.ID}, model.EventQOutput{}, call)
				}
				unix.Write(p[1], []byte("y")) // an arrival, for the edge registrations
			}
		})
		clients.Wait()
		done.Store(true)
		waiter.Wait()
		q.Close()
		unix.Close(p[0])
		unix.Close(p[1])

		fires := 0
		var regs []porcupine.Operation
		for _, op := range ops {
			switch in, out := op.Input.(model.EventQInput), op.Output.(model.EventQOutput); {
			case in.Op == model.EqFire:
				fires++
			case in.Op == model.EqRegister && out.Err == nil:
				regs = append(regs, op)
			}
		}
		// What the partitioned model leaves out: ids increase in real time.
		for _, a := range regs {
			for _, b := range regs {
				if a.Return < b.Call && a.Output.(model.EventQOutput).ID >= b.Output.(model.EventQOutput).ID {
					t.Fatalf("round %d: id %v issued after id %v", round, b.Output, a.Output)
				}
			}
		}
		res, info := porcupine.CheckOperationsVerbose(model.EventQ(), ops, 10*time.Second)
		if res != porcupine.Ok {
			path := filepath.Join(os.TempDir(), fmt.Sprintf("eventq-round%d.html", round))
			if err := porcupine.VisualizePath(model.EventQ(), info, path); err != nil {
				path = err.Error()
			}
			t.Fatalf("round %d: %d operations (%d firings): %v; visualization: %s", round, len(ops), fires, res, path)
		}
		t.Logf("round %d: %d operations, %d firings: linearizable", round, len(ops), fires)
	}
}
